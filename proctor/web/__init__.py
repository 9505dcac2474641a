"""Web pages (Simplified Chinese, server-rendered) and the JSON API."""
