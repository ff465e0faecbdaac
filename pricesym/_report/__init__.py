"""The report: the LaTeX printer, formulas broken to fit, docstring prose, the
model, steps and results, verification tables, document assembly, writing and
compiling with latexmk."""
