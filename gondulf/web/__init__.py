"""The aiohttp server: application factory, middleware and thin handlers."""
