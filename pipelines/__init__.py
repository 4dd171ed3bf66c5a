"""Item pipelines, in order: validate (100), de-duplicate (200), write (900).

Pipelines never parse HTML; they decide what a candidate record becomes and write it.
"""
