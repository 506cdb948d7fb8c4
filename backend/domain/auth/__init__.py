"""Authentication and authorisation: staff and customer users, roles, sessions, API clients."""
