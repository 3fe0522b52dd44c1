"""The rates of the sample board's imperfections, in one place: how often a parent is typed
twice, a sibling link is missing, a parent is staff, an account is old.

Rates are per family unless said otherwise; the issue asks for roughly these.
"""

RATE_DUPLICATE = 0.075          # of families with 2+ active children (~4% of all families)
RATE_TRIPLE = 0.15              # of duplicated parents with 3+ children: three records
RATE_BOTH_DUPLICATED = 0.2      # of duplicate families: the other parent typed twice too
RATE_MISSING_LINKS = 0.05       # of families with 2+ children, same school
RATE_MISSING_CROSS = 0.12       # of families whose children are at different schools
RATE_MISSING_DUPLICATE = 0.6    # of duplicate families (the younger child registered apart)
RATE_BAD_EMAIL = 0.015          # of parent records
RATE_SHARED_EMAIL = 0.05        # of two-parent families: one family email on both records
RATE_STAFF_PARENT = 0.02        # of parents: also board staff
RATE_WORK_EMAIL = 0.4           # of staff parents: work email on the parent record
RATE_EXISTING_ACCOUNT = 0.35    # of parent records that could have one: account from last year
RATE_NEWER_SIBLING = 0.15       # of accounts over 2+ children: cannot see the youngest
RATE_MOVED_AWAY = 0.02          # families whose children are all inactive
RATE_GRADUATE = 0.04            # families with an inactive (graduated) older child
RATE_APARTMENT = 0.18
RATE_IMMERSION = 0.06           # a child at another elementary school (French immersion)
STAFF_PER_STUDENT = 1 / 14
RATE_NEW_HIRE = 0.03            # staff without a CONNECT account yet
