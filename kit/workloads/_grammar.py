"""Grammar for the copy templates: agreement, articles, contractions, elision.

The templates (``_templates.py``) are data; this module holds the rules that
data cannot express as strings: which article or form a word takes for the
product's gender and number, which adjective comes before a vowel
(*nouvel*, *cet*), how a list is joined (Spanish *y* becomes *e* before an
/i/ sound), and the orthographic rules applied to a finished sentence
(Spanish *de el* → *del*, Portuguese *por o* → *pelo*, French *de le* → *du*
and *le* → *l'* before a vowel, English *a* → *an*, French no-break spaces
before ``! ? : ;`` and inside ``« »``), and in every language a capital
letter at the start of each sentence. A product whose name begins with an
article (*Las Gafas*, *O Boticário*, *Le Creuset*) takes no second one.

Forms are given as tuples in a fixed order: ``(masculine singular, feminine
singular, masculine plural, feminine plural)``; a pair is ``(singular,
plural)``; a single form does not vary.

Examples
--------
>>> g = GRAMMARS["fr"]
>>> g.new_np("Aurora", "masculine", "singular")
'le nouvel Aurora'
>>> g.finish("Dis bonjour à le nouvel Aurora !")
'Dis bonjour au nouvel Aurora\\xa0!'
>>> GRAMMARS["es"].join(["rápido", "intuitivo"])
'rápido e intuitivo'
"""

from __future__ import annotations

import re
from typing import Sequence

GENDERS = ("masculine", "feminine")
NUMBERS = ("singular", "plural")


def agree(forms: Sequence[str], gender: str, number: str) -> str:
    """Pick the form that agrees with ``gender`` and ``number``.

    Examples
    --------
    >>> agree(("nuevo", "nueva", "nuevos", "nuevas"), "feminine", "plural")
    'nuevas'
    >>> agree(("is", "are"), "feminine", "plural")
    'are'
    """
    n = len(forms)
    if n == 4:
        return forms[(2 if number == "plural" else 0) + (1 if gender == "feminine" else 0)]
    if n == 2:
        return forms[1 if number == "plural" else 0]
    return forms[0]


def capitalize(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower the rest)."""
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
        if not (ch.isspace() or ch in "¡¿\"'«“‘(✨"):
            return text
    return text


# A sentence starts at the start of the text or of a line, or after . ! ? and a space (not after "…",
# which may continue the sentence, nor after ":"); opening marks may come first (¿Ya..., «Le...).
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?])[ \u00a0]+|\n[ \u00a0]*)([«“\"'(¡¿\u00a0 ]*)([^\W\d_])")
# Abbreviations after which a period does not end the sentence.
_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "approx", "p.ej", "aprox", "ex", "cf", "no", "nº", "n.º", "sr", "sra",
                  "dr", "dra", "m", "mme", "mlle")


def sentence_case(text: str, keep: Sequence[str] = ()) -> str:
    """Upper-case the first letter of every sentence, leaving the names in ``keep`` as written.

    Examples
    --------
    >>> sentence_case("It is here. a lamp for you! ¿ya lo conoces? iPhone. good for e.g. runners", keep=["iPhone"])
    'It is here. A lamp for you! ¿Ya lo conoces? iPhone. Good for e.g. runners'
    """
    def upper(m: re.Match) -> str:
        start = m.start(2)
        if any(text.startswith(k, start) for k in keep if k):
            return m.group(0)
        before = text[:m.start()].rstrip(" \u00a0\n")
        if before.endswith("."):
            word = before[:-1].rsplit(None, 1)[-1] if before[:-1].strip() else ""
            if word.lower().lstrip("(«\"") in _ABBREVIATIONS:
                return m.group(0)
        return m.group(0)[: start - m.start()] + m.group(2).upper()

    return _SENTENCE_START.sub(upper, text)


class Grammar:
    """Rules of one language; subclasses override what differs.

    Parameters
    ----------
    code : str
        ISO 639-1 code of the language.
    """

    code = ""
    #: number words 0..10 for counting; a pair where 1 or 2 agree in gender
    numbers: tuple = ()
    conjunction = "and"
    list_separator = ", "
    #: definite articles a product's name may begin with (Spanish *Las Gafas*): then it takes none
    articles: tuple[str, ...] = ()

    def own_article(self, product: str) -> tuple[str, str] | None:
        """``(article, rest)`` when the product's name begins with an article of the language.

        Examples
        --------
        >>> GRAMMARS["es"].own_article("Las Gafas"), GRAMMARS["es"].own_article("Lamp")
        (('Las', 'Gafas'), None)
        >>> GRAMMARS["fr"].own_article("L'Atelier")
        ("L'", 'Atelier')
        """
        for a in self.articles:
            n = len(a)
            if product[:n].lower() == a and len(product) > n:
                if a.endswith("'") and product[n:].strip():
                    return product[:n], product[n:].strip()
                if product[n] == " " and product[n + 1:].strip():
                    return product[:n], product[n + 1:].strip()
        return None

    def the_np(self, product: str, gender: str, number: str) -> str:
        """Definite noun phrase of the product ("el Aurora")."""
        return product

    def new_np(self, product: str, gender: str, number: str) -> str:
        """"the new <product>" with the adjective agreeing."""
        return f"the new {product}"

    def this_np(self, product: str, gender: str, number: str) -> str:
        return f"{'these' if number == 'plural' else 'this'} {product}"

    def our_np(self, product: str, gender: str, number: str) -> str:
        return f"our {product}"

    def your_np(self, product: str, gender: str, number: str, register: str) -> str:
        return f"your {product}"

    def count(self, n: int, noun: Sequence[str]) -> str:
        """``n`` nouns, the number word agreeing with the noun's gender.

        ``noun`` is ``(singular, plural, gender)``.
        """
        sg, pl, gender = noun
        word = str(n)
        if 0 <= n < len(self.numbers):
            w = self.numbers[n]
            word = w[1] if isinstance(w, tuple) and gender == "feminine" else (w[0] if isinstance(w, tuple) else w)
        return f"{word} {sg if n == 1 else pl}"

    def join(self, items: Sequence[str]) -> str:
        """Join a list with the language's conjunction ("a, b and c")."""
        items = [i for i in items if i]
        if not items:
            return ""
        if len(items) == 1:
            return items[0]
        head = self.list_separator.join(items[:-1])
        return f"{head} {self.conjunction_before(items[-1])} {items[-1]}"

    def conjunction_before(self, word: str) -> str:
        return self.conjunction

    def finish(self, text: str, keep: Sequence[str] = ()) -> str:
        """Orthographic rules on a rendered text (contractions, elision, spacing), then a capital letter
        at the start of each sentence (``keep``: names written as they are, such as *iPhone*)."""
        return sentence_case(self.orthography(text), keep)

    def orthography(self, text: str) -> str:
        """The language's orthographic rules on a rendered text."""
        return text


_EN_AN = re.compile(r"\b([Aa]) (?=(\w+))")
_EN_A_EXCEPT = ("uni", "use", "usu", "uti", "eu", "one", "once", "ure")
_EN_AN_EXCEPT = ("hour", "honest", "honor", "honour", "heir")


def _en_article(m: re.Match) -> str:
    a, word = m.group(1), m.group(2).lower()
    vowel = word[0] in "aeiou"
    if word.startswith(_EN_A_EXCEPT):
        vowel = False
    elif word.startswith(_EN_AN_EXCEPT):
        vowel = True
    return (a + "n " if vowel else a + " ")


class English(Grammar):
    code = "en"
    numbers = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

    def orthography(self, text: str) -> str:
        # "a" before a vowel sound is "an" (a/an depends on the next word, which
        # is often a slot: the tone's adjective or the product)
        return _EN_AN.sub(_en_article, text)


class Spanish(Grammar):
    code = "es"
    numbers = ("cero", ("un", "una"), "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez")
    conjunction = "y"
    _THE = ("el", "la", "los", "las")
    _NEW = ("nuevo", "nueva", "nuevos", "nuevas")
    _THIS = ("este", "esta", "estos", "estas")
    _OUR = ("nuestro", "nuestra", "nuestros", "nuestras")
    _CONTRACT = re.compile(r"\b(de|a) el\b")
    # "y" -> "e" before an /i/ sound (i-, hi- but not hie-/hia-, a diphthong);
    # "o" -> "u" before an /o/ sound (o-, ho-)
    _Y_E = re.compile(r"\by (?=[hH]?[iíIÍ](?![aeouáéóúAEOU]))")
    _O_U = re.compile(r"\bo (?=[hH]?[oóOÓ])")
    articles = _THE

    def the_np(self, product, gender, number):
        if self.own_article(product):
            return product
        return f"{agree(self._THE, gender, number)} {product}"

    def new_np(self, product, gender, number):
        own = self.own_article(product)
        if own:  # "las nuevas Gafas", not "las nuevas Las Gafas"
            return f"{own[0].lower()} {agree(self._NEW, gender, number)} {own[1]}"
        return f"{agree(self._THE, gender, number)} {agree(self._NEW, gender, number)} {product}"

    def this_np(self, product, gender, number):
        return f"{agree(self._THIS, gender, number)} {_bare(self, product)}"

    def our_np(self, product, gender, number):
        return f"{agree(self._OUR, gender, number)} {_bare(self, product)}"

    def your_np(self, product, gender, number, register):
        base = "su" if register == "formal" else "tu"
        return f"{base}{'s' if number == 'plural' else ''} {_bare(self, product)}"

    def conjunction_before(self, word):
        return "e" if self._Y_E.match("y " + word) else "y"

    def orthography(self, text):
        text = self._CONTRACT.sub(lambda m: "del" if m.group(1) == "de" else "al", text)
        text = self._Y_E.sub("e ", text)
        return self._O_U.sub("u ", text)


class Portuguese(Grammar):
    code = "pt"
    numbers = ("zero", ("um", "uma"), ("dois", "duas"), "três", "quatro", "cinco", "seis", "sete", "oito",
               "nove", "dez")
    conjunction = "e"
    _THE = ("o", "a", "os", "as")
    _NEW = ("novo", "nova", "novos", "novas")
    _THIS = ("este", "esta", "estes", "estas")
    _OUR = ("nosso", "nossa", "nossos", "nossas")
    _YOUR = ("seu", "sua", "seus", "suas")
    # preposition + article (or demonstrative) are written as one word
    _CONTRACTIONS = {
        "de": {"o": "do", "a": "da", "os": "dos", "as": "das", "este": "deste", "esta": "desta",
               "estes": "destes", "estas": "destas"},
        "em": {"o": "no", "a": "na", "os": "nos", "as": "nas", "este": "neste", "esta": "nesta",
               "estes": "nestes", "estas": "nestas"},
        "por": {"o": "pelo", "a": "pela", "os": "pelos", "as": "pelas"},
        "a": {"o": "ao", "a": "à", "os": "aos", "as": "às"},
    }
    _CONTRACT = re.compile(r"\b(de|em|por|a) (o|a|os|as|este|esta|estes|estas)\b")
    articles = _THE

    def the_np(self, product, gender, number):
        if self.own_article(product):
            return product
        return f"{agree(self._THE, gender, number)} {product}"

    def new_np(self, product, gender, number):
        own = self.own_article(product)
        if own:  # "o novo Boticário", not "o novo O Boticário"
            return f"{own[0].lower()} {agree(self._NEW, gender, number)} {own[1]}"
        return f"{agree(self._THE, gender, number)} {agree(self._NEW, gender, number)} {product}"

    def this_np(self, product, gender, number):
        return f"{agree(self._THIS, gender, number)} {_bare(self, product)}"

    def our_np(self, product, gender, number):
        return f"{agree(self._THE, gender, number)} {agree(self._OUR, gender, number)} {_bare(self, product)}"

    def your_np(self, product, gender, number, register):
        return f"{agree(self._THE, gender, number)} {agree(self._YOUR, gender, number)} {_bare(self, product)}"

    def orthography(self, text):
        def contract(m: re.Match) -> str:
            return self._CONTRACTIONS[m.group(1)].get(m.group(2), m.group(0))

        return self._CONTRACT.sub(contract, text)


_FR_VOWELS = "aeiouhâàäéèêëîïôöûùüœAEIOUHÂÀÄÉÈÊËÎÏÔÖÛÙÜŒ"
# words with an "h aspiré": no elision, no liaison (le héros, la hâte)
_FR_H_ASPIRE = ("haut", "hâte", "héros", "hibou", "honte", "hors", "hall", "hamac", "hasard", "huit")


def _fr_vowel_initial(word: str) -> bool:
    if not word or word[0] not in _FR_VOWELS:
        return False
    return not word.lower().startswith(_FR_H_ASPIRE)


class French(Grammar):
    code = "fr"
    numbers = ("zéro", ("un", "une"), "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix")
    conjunction = "et"
    _CONTRACT = re.compile(r"\b(de|à) (le|les)\b")
    # not after a hyphen: the pronoun of an imperative does not elide (essaie-la et...)
    _ELIDE = re.compile(r"(?<![\w'-])(le|la|de|que|ne|je|me|te|se|Le|La|De|Que|Ne|Je|Me|Te|Se) (?=(\w+))")
    # French typography: a no-break space before ! ? : ; and », after «; a space already there becomes one
    _SPACE = re.compile(r"[ \u00a0]*([!?:;»])")
    _SCHEME = re.compile(r"(?:https?|ftp|mailto)$")
    _GUILLEMET = re.compile(r"«[ \u00a0]*")
    articles = ("les", "le", "la", "l'", "l’")

    def the_np(self, product, gender, number):
        if self.own_article(product):
            return product
        if number == "plural":
            return f"les {product}"
        return f"{'la' if gender == 'feminine' else 'le'} {product}"  # elided by finish()

    def new_np(self, product, gender, number):
        own = self.own_article(product)
        if own:  # "le nouveau Creuset", not "le nouveau Le Creuset"
            product = own[1]
        if number == "plural":
            return f"les {'nouvelles' if gender == 'feminine' else 'nouveaux'} {product}"
        if gender == "feminine":
            return f"la nouvelle {product}"
        # masculine singular before a vowel sound: "nouvel" (le nouvel Aurora)
        return f"le {'nouvel' if _fr_vowel_initial(product) else 'nouveau'} {product}"

    def this_np(self, product, gender, number):
        product = _bare(self, product)
        if number == "plural":
            return f"ces {product}"
        if gender == "feminine":
            return f"cette {product}"
        return f"{'cet' if _fr_vowel_initial(product) else 'ce'} {product}"

    def our_np(self, product, gender, number):
        return f"{'nos' if number == 'plural' else 'notre'} {_bare(self, product)}"

    def your_np(self, product, gender, number, register):
        product = _bare(self, product)
        if register == "formal":
            return f"{'vos' if number == 'plural' else 'votre'} {product}"
        if number == "plural":
            return f"tes {product}"
        # "ton" also before a feminine word starting with a vowel sound (ton idée)
        if gender == "feminine" and not _fr_vowel_initial(product):
            return f"ta {product}"
        return f"ton {product}"

    def orthography(self, text):
        def elide(m: re.Match) -> str:
            if _fr_vowel_initial(m.group(2)):
                return m.group(1)[:-1] + "'"
            return m.group(0)

        # elision first: "de le" before a vowel is "de l'", not "du"
        text = self._ELIDE.sub(elide, text)
        text = self._CONTRACT.sub(
            lambda m: {"dele": "du", "deles": "des", "àle": "au", "àles": "aux"}[m.group(1) + m.group(2)], text)

        def space(m: re.Match) -> str:
            mark, before = m.group(1), text[:m.start()]
            if not before or before.endswith("\n"):
                return m.group(0)
            if m.group(0) == mark:  # none written: add one, except after another mark (?!), in https:// or 10:30
                tail = before[-1]
                if tail in "\u00a0!?:;«" or (mark == ":" and (tail.isdigit() or self._SCHEME.search(before))):
                    return mark
            return "\u00a0" + mark

        text = self._SPACE.sub(space, text)
        return self._GUILLEMET.sub("«\u00a0", text)


def _bare(grammar: Grammar, product: str) -> str:
    """The product's name without its own article, before a word that replaces it (*estas Gafas*)."""
    own = grammar.own_article(product)
    return own[1] if own else product


GRAMMARS: dict[str, Grammar] = {g.code: g for g in (English(), Spanish(), Portuguese(), French())}
