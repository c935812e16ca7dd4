"""Plain parameterised SQL, one module per table group; functions take a connection first."""
