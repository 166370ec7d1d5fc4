"""The outside world, reached the same way by the server and the CLI: DNS, email, the web
(a guarded fetcher), and what people's homepages and apps' pages say."""
