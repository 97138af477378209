"""Users, API keys and the access checks every REST route declares."""
