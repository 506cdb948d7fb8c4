"""The HTTP edge: authentication middleware, authorisation guard, problem responses, request ids."""
