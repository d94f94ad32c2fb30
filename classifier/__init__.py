"""Classifier: jieba-based tagging of reports with confidence, facts and evidence."""
