"""The composition root: builds the ASGI application from every domain's routes."""
