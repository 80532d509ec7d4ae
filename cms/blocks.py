"""StreamField blocks for campaign pages."""

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock


class HeroBlock(blocks.StructBlock):
    """The first thing a shopper sees: a headline, a line of support and an optional image."""

    headline = blocks.CharBlock(max_length=120)
    subheading = blocks.TextBlock(required=False, max_length=300)
    image = ImageChooserBlock(required=False)

    class Meta:
        icon = "pick"
        template = "cms/blocks/hero.html"


class OfferBlock(blocks.StructBlock):
    """The programme's offer, worded by the manager; the amounts come from the programme."""

    title = blocks.CharBlock(max_length=120, default="Your friend's offer")
    text = blocks.RichTextBlock(features=["bold", "italic", "link"], required=False)

    class Meta:
        icon = "tag"
        template = "cms/blocks/offer.html"


class StepBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock(max_length=300)


class HowItWorksBlock(blocks.StructBlock):
    """Three or so numbered steps."""

    title = blocks.CharBlock(max_length=120, default="How it works")
    steps = blocks.ListBlock(StepBlock())

    class Meta:
        icon = "list-ol"
        template = "cms/blocks/how_it_works.html"


class FaqItemBlock(blocks.StructBlock):
    question = blocks.CharBlock(max_length=200)
    answer = blocks.RichTextBlock(features=["bold", "italic", "link", "ul"])


class FaqBlock(blocks.StructBlock):
    """Questions shoppers and advocates ask, as an accordion."""

    title = blocks.CharBlock(max_length=120, default="Questions")
    items = blocks.ListBlock(FaqItemBlock())

    class Meta:
        icon = "help"
        template = "cms/blocks/faq.html"


class CallToActionBlock(blocks.StructBlock):
    """A button: to the shop (carrying the code) or to the join page."""

    text = blocks.CharBlock(max_length=120)
    button_label = blocks.CharBlock(max_length=40)
    target = blocks.ChoiceBlock(
        choices=[("shop", "Shop with the offer"), ("join", "Join the programme")], default="shop"
    )

    class Meta:
        icon = "link"
        template = "cms/blocks/call_to_action.html"


class CampaignStreamBlock(blocks.StreamBlock):
    hero = HeroBlock()
    offer = OfferBlock()
    how_it_works = HowItWorksBlock()
    faq = FaqBlock()
    call_to_action = CallToActionBlock()
    paragraph = blocks.RichTextBlock(features=["h2", "h3", "bold", "italic", "link", "ul", "ol"])
