//! Dockerfile model (issue 4): parser with directives, continuations, heredocs, expansion, stages.
