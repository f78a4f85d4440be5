"""Built-in components, one module per kind. Heavy imports stay inside the factories."""
