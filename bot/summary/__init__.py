"""The handover summary: what an agent needs at a glance, made from a whole case.

`facts` finds the facts a conversation states (plan, seats, amounts, dates, …);
`build` writes the summary the customer confirms and the agent's card shows first.
"""
