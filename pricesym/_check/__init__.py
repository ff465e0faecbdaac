"""Checks: random instances from declared domains (one sampler, shared with
`verify`), kinds of check, compiling closed forms, running and comparing,
deliberately wrong closed forms."""
