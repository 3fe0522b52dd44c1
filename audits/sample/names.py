"""The word stock of the sample board: Canadian names, places and email domains.

Every string here must survive Windows-1252 (the encoding some boards export in): é, è, ê,
ë, ç, ô, î, ï, É are all in it; ễ, ł, ş are not, so names from communities that use them
are written the way Canadian SIS records usually carry them, without those marks.
Weights make common names repeat the way they do on a real board (many Smith, Tremblay,
Chris), which is what makes duplicate detection hard.
"""

from __future__ import annotations

# (surname, weight): Ontario/Quebec border boards mix English, French, Irish/Scottish,
# South Asian, Chinese, Vietnamese, Arabic, African, Italian, Portuguese and First Nations names.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("Smith", 40), ("Tremblay", 40), ("Brown", 18), ("Roy", 16), ("Gagnon", 18), ("Wilson", 12),
    ("MacDonald", 12), ("Côté", 14), ("Bouchard", 10), ("Gauthier", 10), ("Morin", 10),
    ("Lavoie", 9), ("Fortin", 9), ("Gagné", 8), ("Ouellet", 7), ("Pelletier", 8),
    ("Bélanger", 8), ("Lévesque", 8), ("Bergeron", 7), ("Leblanc", 8), ("Paquette", 6),
    ("Girard", 6), ("Simard", 6), ("Boucher", 6), ("Caron", 6), ("Beaulieu", 5),
    ("Cloutier", 5), ("Dubé", 6), ("Poirier", 5), ("Fournier", 6), ("Lapointe", 5),
    ("Leclerc", 5), ("Lefebvre", 6), ("Poulin", 5), ("Thibault", 5), ("St-Pierre", 5),
    ("Nadeau", 5), ("Martin", 14), ("Landry", 5), ("Taylor", 10), ("Campbell", 9),
    ("Anderson", 9), ("Jones", 9), ("Williams", 9), ("Johnson", 9), ("Thompson", 9),
    ("White", 7), ("Stewart", 7), ("Robinson", 6), ("Clarke", 6), ("Young", 6), ("Wright", 6),
    ("Mitchell", 6), ("Scott", 6), ("Green", 5), ("Baker", 5), ("King", 5), ("Hill", 5),
    ("O'Brien", 5), ("O'Connor", 4), ("Murphy", 6), ("Kelly", 5), ("MacLeod", 5),
    ("McKenzie", 4), ("Fraser", 5), ("Lee", 12), ("Wong", 9), ("Chen", 10), ("Li", 9),
    ("Zhang", 6), ("Wang", 7), ("Liu", 6), ("Nguyen", 10), ("Tran", 6), ("Pham", 4),
    ("Singh", 14), ("Patel", 12), ("Kaur", 6), ("Sharma", 6), ("Gill", 5), ("Khan", 7),
    ("Ali", 7), ("Ahmed", 7), ("Hussain", 4), ("Haddad", 4), ("Khoury", 3), ("Mansour", 3),
    ("Diallo", 3), ("Mensah", 3), ("Okafor", 3), ("Adeyemi", 3), ("Joseph", 4),
    ("Jean-Baptiste", 3), ("Rossi", 4), ("Russo", 3), ("Ferreira", 4), ("Silva", 4),
    ("Santos", 3), ("Kowalski", 3), ("Novak", 3), ("Cardinal", 3), ("Commanda", 2),
    ("Whiteduck", 2), ("Tenasco", 2), ("Morningstar", 2), ("Bearskin", 2), ("Jacobs", 3),
    ("D'Amours", 2), ("Côté-Tremblay", 1), ("Gagnon-Smith", 1), ("Bédard", 4), ("Hébert", 5),
    ("Desjardins", 4), ("Charbonneau", 3), ("Vézina", 2), ("Lachapelle", 2), ("Séguin", 4),
)

# Adult first names (parents, grandparents, staff), split so a mother is rarely "Robert".
# Many belong to a NICKNAME_GROUPS group, so a second record can carry the short form.
WOMEN: tuple[tuple[str, int], ...] = (
    ("Jennifer", 14), ("Katherine", 8), ("Elizabeth", 8), ("Margaret", 3), ("Christine", 8),
    ("Patricia", 4), ("Stephanie", 7), ("Rebecca", 5), ("Deborah", 3), ("Susan", 4),
    ("Jessica", 8), ("Victoria", 3), ("Jacqueline", 3), ("Samantha", 4), ("Amanda", 6),
    ("Melissa", 7), ("Nathalie", 8), ("Sarah", 10), ("Emily", 5), ("Michelle", 6),
    ("Marie-Ève", 7), ("Geneviève", 6), ("Hélène", 3), ("Françoise", 2), ("Amélie", 5),
    ("Isabelle", 8), ("Sylvie", 4), ("Mélanie", 6), ("Julie", 8), ("Annie", 4), ("Chantal", 4),
    ("Karine", 5), ("Valérie", 5), ("Émilie", 5), ("Josée", 3), ("Priya", 4), ("Anjali", 3),
    ("Harpreet", 3), ("Fatima", 4), ("Aisha", 3), ("Mei", 3), ("Li Na", 2), ("Thi Lan", 2),
    ("Yasmine", 3), ("Ngozi", 2), ("Ama", 2), ("Giulia", 2), ("Ana", 3), ("Agnieszka", 2),
    ("Kimberly", 3), ("Barbara", 2), ("Teresa", 2), ("Alexandra", 3), ("Gabrielle", 3),
    ("Chris", 3), ("Pat", 1),
)
MEN: tuple[tuple[str, int], ...] = (
    ("Robert", 10), ("William", 8), ("Michael", 14), ("Christopher", 10), ("Patrick", 5),
    ("Richard", 4), ("James", 8), ("Joseph", 5), ("Thomas", 6), ("Daniel", 9), ("David", 10),
    ("Anthony", 4), ("Andrew", 7), ("Alexander", 4), ("Steven", 6), ("Matthew", 7),
    ("Nicholas", 4), ("Jonathan", 5), ("John", 6), ("Benjamin", 4), ("Samuel", 3),
    ("Edward", 3), ("Charles", 3), ("Gregory", 3), ("Jeffrey", 4), ("Kenneth", 2),
    ("Mark", 7), ("Kevin", 6), ("Jason", 6), ("Brian", 5), ("Ryan", 4), ("Eric", 5),
    ("Jean-François", 6), ("Stéphane", 5), ("Sébastien", 6), ("Mathieu", 6), ("François", 5),
    ("Philippe", 5), ("Guillaume", 4), ("Martin", 5), ("Luc", 4), ("Éric", 3), ("Frédéric", 4),
    ("Jérôme", 3), ("Benoît", 3), ("Raj", 3), ("Arjun", 3), ("Gurpreet", 3), ("Mohammed", 5),
    ("Ahmed", 3), ("Omar", 3), ("Wei", 3), ("Jun", 2), ("Minh", 2), ("Duc", 2),
    ("Chukwuemeka", 1), ("Kwame", 2), ("Marco", 2), ("João", 2), ("Piotr", 2),
    ("Chris", 4), ("Pat", 1),
)

# Children's first names (born 2008-2022).
CHILDREN: tuple[tuple[str, int], ...] = (
    ("Emma", 10), ("Olivia", 10), ("Charlotte", 8), ("Amelia", 6), ("Ava", 8), ("Sophia", 7),
    ("Chloé", 7), ("Léa", 8), ("Zoé", 7), ("Alice", 6), ("Florence", 5), ("Éloïse", 4),
    ("Maëlle", 3), ("Béatrice", 3), ("Rosalie", 4), ("Juliette", 4), ("Mia", 7), ("Maya", 6),
    ("Aanya", 3), ("Ananya", 3), ("Zara", 3), ("Layla", 4), ("Noor", 3), ("Mei Ling", 2),
    ("Chloe", 5), ("Hannah", 5), ("Abigail", 4), ("Ella", 6), ("Grace", 5), ("Lily", 5),
    ("Liam", 10), ("Noah", 10), ("William", 8), ("Benjamin", 7), ("Lucas", 8), ("Jacob", 6),
    ("Ethan", 7), ("Logan", 5), ("Félix", 7), ("Thomas", 6), ("Samuel", 6), ("Léo", 6),
    ("Jérémie", 3), ("Édouard", 3), ("Mathis", 4), ("Raphaël", 4), ("Zacharie", 3),
    ("Aarav", 3), ("Arjun", 3), ("Rohan", 3), ("Omar", 3), ("Yusuf", 3), ("Adam", 5),
    ("Ethan", 4), ("Jayden", 4), ("Owen", 5), ("Jack", 5), ("Oliver", 7), ("Henry", 4),
    ("Kai", 3), ("Minh Anh", 2), ("Kofi", 2), ("Mateo", 3), ("Gabriel", 5), ("Nathan", 5),
    ("Chris", 2), ("Alex", 3), ("Sam", 2),
)

STREET_NAMES: tuple[str, ...] = (
    "Main", "Elm", "Maple", "Oak", "Bank", "Rideau", "Somerset", "Bronson", "Carling",
    "Baseline", "Merivale", "Laurier", "Cartier", "Champlain", "Wellington", "King", "Queen",
    "Richmond", "Hunt Club", "Greenbank", "Woodroffe", "Fisher", "Walkley", "Heron", "Riverside",
    "St-Joseph", "Montcalm", "Saint-Laurent", "Jeanne-Mance", "Brébeuf", "Frontenac",
    "Lakeshore", "Dundas", "Bloor", "Eglinton", "Jane", "Finch", "Sheppard", "Birch", "Cedar",
    "Pine", "Willow", "Spruce", "Aspen", "Hawthorne", "Glenview", "Parkdale", "Sunnyside",
)
# (long form, short forms) of the street type; a record may use any of them.
STREET_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Street", ("St", "St.", "Str")), ("Avenue", ("Ave", "Ave.", "Av")),
    ("Road", ("Rd", "Rd.")), ("Drive", ("Dr", "Dr.")), ("Crescent", ("Cres", "Cres.", "Cr")),
    ("Boulevard", ("Blvd", "Blvd.", "Boul")), ("Court", ("Crt", "Ct")),
    ("Place", ("Pl", "Pl.")), ("Lane", ("Ln",)), ("Way", ("Way",)),
)

# (city, postal code letters for its forward sortation area, its area codes)
CITIES: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("Ottawa", "K1", ("613", "343"), 30), ("Nepean", "K2", ("613", "343"), 10),
    ("Kanata", "K2", ("613", "343"), 8), ("Orléans", "K1", ("613", "343"), 8),
    ("Barrhaven", "K2", ("613",), 6), ("Gatineau", "J8", ("819",), 12),
    ("Toronto", "M4", ("416",), 8), ("Mississauga", "L5", ("905",), 4),
    ("Montréal", "H2", ("514",), 5), ("Laval", "H7", ("514",), 2),
    ("Kingston", "K7", ("613", "343"), 3),
)
POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"

PERSONAL_DOMAINS: tuple[tuple[str, int], ...] = (
    ("gmail.com", 40), ("hotmail.com", 14), ("outlook.com", 8), ("yahoo.ca", 6),
    ("yahoo.com", 4), ("videotron.ca", 3), ("bell.net", 4), ("rogers.com", 5),
    ("sympatico.ca", 3), ("icloud.com", 5), ("live.ca", 3),
)
BOARD_DOMAIN = "ocsb-sample.ca"
"""Staff email domain (the board's)."""

# Not usable as a username (no email, or malformed); ``{local}`` is the person's usual local part.
# Every one of these is clearly malformed under any reasonable validator.
BAD_EMAILS: tuple[str, ...] = (
    "", "", "", "none", "None", "N/A", "{local}@", "{spaced}@gmail.com", "@gmail.com",
    "{local}.gmail.com", "{local}@@hotmail.com",
)

SCHOOL_PATRONS: tuple[str, ...] = (
    "St. Anne", "St. Patrick", "Sacré-Cœur", "Notre-Dame", "St. Brigid", "Holy Family",
    "St. Isidore", "Ste-Geneviève", "St. Joseph", "Marguerite-Bourgeoys", "St. Mark",
    "Our Lady of Peace", "St. Francis", "Ste-Marie", "St. Gregory", "Frère-André",
    "St. Monica", "Bishop Carroll", "Mother Teresa", "St. Luke", "Georges-Vanier",
    "Terry Fox", "Roberta Bondar", "Lester B. Pearson", "Emily Carr", "Louis Riel",
)


# The generator's own groups of first names one parent may be typed under (lowercase, accents
# folded): how a second clerk typed a parent. The matcher does not read this list; it reads the
# nicknames dataset (audits.household.wordlists.nickname_groups).
NICKNAME_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(group) for group in (
    ("jennifer", "jenny", "jen", "jenn", "jenni"),
    ("robert", "bob", "rob", "bobby", "robbie", "bert"),
    ("william", "bill", "will", "billy", "willie", "liam"),
    ("katherine", "kathy", "kate", "katie", "kat", "catherine", "cathy", "kathryn", "kathleen"),
    ("elizabeth", "liz", "beth", "betty", "eliza", "lisa", "liza", "libby", "elisabeth"),
    ("margaret", "maggie", "meg", "peggy", "marge", "margie", "greta"),
    ("michael", "mike", "mikey", "mick", "micheal"),
    ("christopher", "chris", "topher", "kit"),
    ("christine", "chris", "chrissy", "tina", "christina", "kristine", "kristina"),
    ("patricia", "pat", "patty", "trish", "tricia"),
    ("patrick", "pat", "paddy", "rick"),
    ("richard", "rick", "dick", "rich", "ricky", "richie"),
    ("james", "jim", "jimmy", "jamie"),
    ("joseph", "joe", "joey", "jo"),
    ("thomas", "tom", "tommy"),
    ("daniel", "dan", "danny"),
    ("david", "dave", "davey"),
    ("anthony", "tony"),
    ("andrew", "andy", "drew"),
    ("alexander", "alex", "xander", "sandy", "alexandre"),
    ("alexandra", "alex", "sandra", "sandy", "lexi", "alexandria"),
    ("stephanie", "steph", "stephie"),
    ("steven", "steve", "stephen", "stevie"),
    ("matthew", "matt", "matty", "mathieu", "matthieu"),
    ("nicholas", "nick", "nicky", "nicolas"),
    ("jonathan", "jon", "johnny", "jonny"),
    ("john", "jack", "johnny", "jean"),
    ("benjamin", "ben", "benny", "benji"),
    ("samuel", "sam", "sammy"),
    ("samantha", "sam", "sammy"),
    ("rebecca", "becky", "becca", "rebekah"),
    ("deborah", "deb", "debbie", "debra"),
    ("susan", "sue", "susie", "suzanne", "suzy"),
    ("jessica", "jess", "jessie"),
    ("victoria", "vicky", "tori", "vic"),
    ("jacqueline", "jackie", "jacquie"),
    ("edward", "ed", "eddie", "ted", "ned"),
    ("theodore", "ted", "teddy", "theo"),
    ("charles", "charlie", "chuck", "chas"),
    ("charlotte", "charlie", "lottie"),
    ("frederick", "fred", "freddie", "fritz"),
    ("gregory", "greg"),
    ("jeffrey", "jeff", "geoffrey", "geoff"),
    ("kenneth", "ken", "kenny"),
    ("lawrence", "larry", "laurence"),
    ("leonard", "len", "lenny", "leo"),
    ("raymond", "ray"),
    ("ronald", "ron", "ronnie"),
    ("donald", "don", "donnie"),
    ("timothy", "tim", "timmy"),
    ("zachary", "zach", "zack"),
    ("abigail", "abby", "gail"),
    ("amanda", "mandy"),
    ("barbara", "barb", "babs"),
    ("cynthia", "cindy"),
    ("dorothy", "dot", "dottie"),
    ("eleanor", "ellie", "nora", "elle"),
    ("gabrielle", "gabby", "gabi", "gabriella"),
    ("kimberly", "kim"),
    ("melissa", "mel", "missy"),
    ("nathalie", "natalie", "nat"),
    ("pamela", "pam"),
    ("sophie", "sophia"),
    ("teresa", "terry", "tess", "theresa", "therese"),
    ("valerie", "val"),
    ("vincent", "vince", "vinny"),
    ("philippe", "phil", "philip", "phillip"),
    ("francois", "frank", "francis", "frankie"),
    ("guillaume", "will", "william"),
    ("jean-francois", "jf"),
    ("marie-eve", "marie eve", "eve"),
    ("mohammed", "mohammad", "muhammad", "mohamed", "mo"),
))
