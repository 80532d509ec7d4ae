"""The dependency rules of the layout hold: no import cycles between modules, and no import
against cms -> referrals -> advocacy -> accounts -> kernel (config/ is wiring that no app imports).

The graph is read from the source (tests/architecture/import_graph.py), so a new module is
covered the moment it exists. The last two tests prove the checks can fail.
"""

from tests.architecture.import_graph import Edge, cycles, edges, upward_imports


def test_no_module_imports_a_higher_layer():
    upward = [f"{e.source} (line {e.line}) imports {e.target}" for e in upward_imports(edges())]
    assert upward == []


def test_no_import_cycles_between_modules():
    assert cycles(edges()) == []


def test_the_graph_sees_imports_inside_functions():
    # referrals.apps registers the tasks inside ready(): the edge must be there.
    assert any(
        e.source == "referrals.apps" and e.target == "referrals.payouts.tasks" for e in edges()
    )


def test_a_cycle_is_reported():
    made_up = [Edge("referrals.a", "referrals.b", 1), Edge("referrals.b", "referrals.a", 1)]
    assert cycles(made_up) == [["referrals.a", "referrals.b"]]


def test_an_upward_import_is_reported():
    made_up = [Edge("advocacy.views", "referrals.models", 3), Edge("cms.models", "kernel.money", 1)]
    assert upward_imports(made_up) == [made_up[0]]


SUB_PACKAGES = tuple(
    f"referrals.{name}" for name in ("payouts", "stripe", "api", "dashboard", "sandbox")
)
CORE = ("referrals.services", "referrals.selectors", "referrals.models", "referrals.links")


def test_the_referral_core_does_not_import_its_outer_sub_packages():
    # Payouts, Stripe, the API, the dashboard and the shop build on the core (and on links),
    # never the other way; only wiring (apps, receivers, wagtail_hooks, commands) reaches out.
    outward = [
        f"{e.source} (line {e.line}) imports {e.target}"
        for e in edges()
        if e.source.startswith(CORE) and e.target.startswith(SUB_PACKAGES)
    ]
    assert outward == []
