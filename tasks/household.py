"""Collective household register (P6): no business function computes anything here, on purpose.

The household-card deposit (600 yuan, 第6篇) is the diagram's form default, and refunding it is a
yes/no on the card and pledge coming back, which a gateway decides. Renewal fees have no amounts in
the manual (「最后根据系统，计算客户需要缴纳的费用」): the clerk enters the system's figure on the
form, so no Python invents a fee or a rule for fee years. The module stays so that the package's
list of business areas (tasks/__init__.py) names this one.
"""
