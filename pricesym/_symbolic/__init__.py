"""The symbolic side: the model's SymPy interpreter, tangent calculus, rewrites
into observables, training-dynamics and selection algebra, closed forms."""
