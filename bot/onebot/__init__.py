"""QQ through OneBot v11 (NapCat, Lagrange.OneBot, LLOneBot, go-cqhttp)."""
