"""The web pages: the public status page (and, to come, the team's dashboard).

Pure parts only: the pages' data, read through the store's protocols, and their
HTML, Atom and SVG. The HTTP server that serves them is `adapters/web/` (the core
imports no web framework)."""
