"""HTTP routes, one module per resource; functions include the routers they serve."""
