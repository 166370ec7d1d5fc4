"""What a sign-in grants: authorization codes, access and refresh tokens, their redemption,
the grants a person can see and end, and the resource servers that check tokens."""
