"""The what-if app's notebook and the pieces of it that run inside Voilà."""
