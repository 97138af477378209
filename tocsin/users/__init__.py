"""Users as people: profiles, contact methods, notification rules and the /users routes."""
