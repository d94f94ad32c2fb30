"""Official group robots as post targets: WeCom (企业微信) group robots and DingTalk (钉钉) custom robots."""
