"""Use cases. Entry points (CLI, API, batch) call these; these call the domain and the store."""
