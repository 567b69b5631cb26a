"""Serving: gunicorn with waitress workers (HTTP mode) and Socket Mode."""
