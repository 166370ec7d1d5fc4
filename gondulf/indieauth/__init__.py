"""The IndieAuth protocol rules, free of aiohttp and the database."""
