"""convcost reports: render analysis records as tables, CSV/JSON, charts and HTML."""
