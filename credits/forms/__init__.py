"""Forms, one module per page (and `fields` for what pages share). They parse and bound
input; services decide."""
