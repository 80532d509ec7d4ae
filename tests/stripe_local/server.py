"""localstripe (https://github.com/adrienverge/localstripe) as the Stripe end-to-end tests run it:

    python -m tests.stripe_local.server --port 8420

It is localstripe's own aiohttp application, resources and signed webhook delivery, started with
three differences from its `localstripe` command, each because of what that command does:

- Loopback only. The command binds every interface (`::`, IPv4 and IPv6) and has no option to
  choose; a test server holding fake payments has no business being reachable from the network.
- State in memory only. The command loads `/tmp/localstripe.pickle` at start and rewrites it after
  every write; that one fixed path is shared by every localstripe on the machine, so parallel
  test runs would overwrite each other's file. A throwaway server needs no file.
- `charge.refunded`. localstripe 1.15 records refunds but sends no event for them. Stripe sends
  `charge.refunded` with the charge, which since API version 2022-11-15 no longer embeds its
  `refunds` list (docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand), so the
  receiver lists the charge's refunds through the API. The event sent here has that current
  shape and goes out through localstripe's own webhook code (same signing, same one-second
  delay, no retries).
"""

import argparse

from aiohttp import web
from localstripe import resources, server, webhooks


def _no_disk(self) -> None:
    """Store.dump_to_disk, turned off (see the module docstring)."""


def _send_charge_refunded(create):
    def _api_create(cls, **data):
        refund = create(cls, **data)
        charge = resources.Charge._api_retrieve(refund.charge)
        event = resources.Event("charge.refunded", charge)
        event.data["object"].pop("refunds", None)
        webhooks.schedule_webhook(event)
        return refund

    return classmethod(_api_create)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    resources.Store.dump_to_disk = _no_disk
    resources.Refund._api_create = _send_charge_refunded(resources.Refund._api_create.__func__)
    web.run_app(server.app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
