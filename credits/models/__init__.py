"""Credits models, one module per topic."""
