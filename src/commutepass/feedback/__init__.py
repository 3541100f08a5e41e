"""The message board (留言板)."""
