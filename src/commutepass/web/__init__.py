"""Templates and static files of the web pages (the routes live in each area's ``pages.py``)."""
