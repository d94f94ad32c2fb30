"""Staff accounts: users, API tokens, console sessions and login limits."""
