"""The sign-in: sessions, the ways a person proves who they are, and the flow over them."""
