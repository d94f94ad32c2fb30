"""Chat-history import: exports from WeChatMsg, PyWxDump, QQ PC and qq-chat-exporter into ingest."""
