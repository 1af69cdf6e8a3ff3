"""The knowledge base: Markdown articles, the matcher, and the decision it makes."""

from bot.knowledge.articles import Article, Problem, load_articles, parse_article
from bot.knowledge.base import Candidate, Decision, DecisionKind, KnowledgeBase, Thresholds
from bot.knowledge.matcher import Semantic

__all__ = [
    "Article",
    "Candidate",
    "Decision",
    "DecisionKind",
    "KnowledgeBase",
    "Problem",
    "Semantic",
    "Thresholds",
    "load_articles",
    "parse_article",
]
