"""The other CRS and neurotoxicity scales graded side by side with ASTCT (spec §3).

One module per scale, each a table plus small functions: ``lee2014``, ``ctcae5``, ``penn``,
``mskcc``, ``cartox`` (CARTOX CRS), ``cres`` (CARTOX-10 and CRES neurotoxicity). ``inputs``
builds what every scale reads at one assessment (carried-forward support, doses, FiO2, organ
toxicity); ``vasopressors`` holds the high-dose table of spec §1.5; ``engine`` grades a whole
timeline by any set of scales; ``compare`` explains where they disagree with ASTCT.

This package's ``__init__`` imports nothing: the CSV reader imports ``checks`` from it.
"""
