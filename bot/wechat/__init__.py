"""WeChat through itchat-uos (web WeChat with the UOS login patch)."""
