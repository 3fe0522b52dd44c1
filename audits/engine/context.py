"""The read-only context every check receives: the board, its graph, the config, and the
shared analyses several checks rely on (computed once, on first use)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from audits.model.board import Board
from audits.model.config import Config
from audits.engine.memory import collector_paused, freeze_long_lived_now
from audits.household.building import build_graph
from audits.household.graph import HouseholdGraph

if TYPE_CHECKING:
    import pandas as pd

    from audits.household.matching.matcher import ContactMatches
    from audits.preview import PreviewStart


@dataclass
class AuditContext:
    board: Board
    config: Config = field(default_factory=Config)

    @cached_property
    def graph(self) -> HouseholdGraph:
        """The household graph, built on first use. Millions of small tuples and dicts, none of
        them in a cycle: the cyclic collector is paused while they are made, or it would walk
        them all again and again. Every node's adjacency is a dict holding dicts, which the
        collector can never untrack, so each full collection afterwards would walk them all
        again: the CLI, whose graph lives until the command ends, has it frozen once built
        (both only where the CLI switched them on, :mod:`audits.engine.memory`)."""
        with collector_paused():
            graph = build_graph(self.board, self.config)
            freeze_long_lived_now()
        return graph

    @property
    def overlinked_contacts(self) -> frozenset[str]:
        """Contact records linked to more students than any family has
        (:attr:`audits.household.graph.HouseholdGraph.overlinked`): the overlinked-contact check reports
        them and the family checks leave their links out."""
        return self.graph.overlinked

    @cached_property
    def contact_matches(self) -> "ContactMatches":
        """Contact records that are one human (the duplicate-contact matcher's clusters)."""
        from audits.household.matching.matcher import match_contacts

        return match_contacts(self.board, self.config)

    @cached_property
    def portal_access_links(self) -> "pd.DataFrame":
        """Each portal-access link to an active student, with its school
        (:func:`audits.preview.portal_access_links`): missing-sibling-access and the
        generation preview both start from it, and on a large board it is a join of millions
        of rows."""
        from audits.preview import portal_access_links

        return portal_access_links(self.board)

    @cached_property
    def preview_start(self) -> "PreviewStart | None":
        """The generation preview's first part, which needs no contact matching (the audit
        computes it while the matcher works); dropped once the preview is finished."""
        from audits.preview import start_preview

        return start_preview(self)

    @cached_property
    def preview(self) -> "pd.DataFrame":
        """The parent accounts generation would create, each with its predicted outcome."""
        from audits.preview import empty_preview, finish_preview

        start = self.preview_start
        del self.preview_start  # the first part's frames are not needed once it is finished
        return empty_preview() if start is None else finish_preview(start, self.contact_matches)
