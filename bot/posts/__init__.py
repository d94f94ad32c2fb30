"""Scheduled posts: monthly liveliness leaderboard, quarterly summary, reminders and warnings."""
