"""Services shared by the server and the admin CLI: DNS, email, fetching, discovery, domains."""
