"""The demo campaign that `flask demo` loads: an appeal to stop the bombing of Aleppo."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign.models import (
    Campaign,
    CampaignStatus,
    CampaignTranslation,
    Membership,
    Organizer,
    Role,
)

DEMO_SLUG = "aleppo"
DEMO_GOAL = 100_000
DEMO_ORGANIZER_EMAIL = "organizer@example.org"
# Printed by `flask demo` for a first look at the panel; a real deployment creates its own accounts.
DEMO_ORGANIZER_PASSWORD = "demo-organizer"  # noqa: S105

DEMO_TEXTS = {
    "en": {
        "title": "Stop the bombing of civilians in Aleppo",
        "target": (
            "The President of the Russian Federation, the President of the Syrian Arab Republic, "
            "and the fifteen members of the United Nations Security Council"
        ),
        "summary": (
            "Homes, hospitals, schools and bread queues in Aleppo are being bombed from the air. "
            "We ask those who give the orders, and those who can stop them, to end it now."
        ),
        "call_to_action": "Add your name to stop the bombs",
        "body_markdown": """\
Night after night, the people of Aleppo hear the planes before the explosions. The bombs fall on
apartment blocks, on the last hospitals still working, on schools and on the queues outside
bakeries. Most of those killed are not fighters. They are children, parents, nurses, neighbours.

No military goal justifies bombing people where they live. International humanitarian law is
clear: civilians and hospitals are never targets. Every day it is ignored, more families are
buried and the survivors lose any reason to believe in a peaceful settlement.

## We call on you to

1. **Stop all air strikes and shelling** on residential neighbourhoods, hospitals, schools,
   markets and water stations, starting today.
2. **Open safe humanitarian corridors** and let United Nations and Red Crescent convoys bring
   food, water and medicine into every part of the city, without delay or conditions.
3. **Let the wounded and the sick leave** for treatment, and let any civilian who wants to leave
   do so safely, with the right to return.
4. **Allow an independent investigation** of every attack on a hospital or a school, so that
   those responsible answer for it.

## Why your signature matters

Governments weigh what their own citizens say. When tens of thousands of people from many
countries put their names to one clear demand, it reaches desks that a single letter never
reaches. We will deliver every confirmed signature to the addressees and publish their answers.

Signing is the first step. After you sign, share the petition with the people you know, and
join a peaceful rally near you when one is planned.
""",
    },
    "ru": {
        "title": "Остановите бомбардировки мирных жителей Алеппо",
        "target": (
            "Президенту Российской Федерации, Президенту Сирийской Арабской Республики "
            "и пятнадцати членам Совета Безопасности ООН"
        ),
        "summary": (
            "С воздуха бомбят дома, больницы, школы и очереди за хлебом в Алеппо. "
            "Мы просим тех, кто отдаёт приказы, и тех, кто может их остановить, "
            "прекратить это сейчас."
        ),
        "call_to_action": "Подпишите, чтобы остановить бомбы",
        "body_markdown": """\
Ночь за ночью жители Алеппо слышат самолёты раньше, чем взрывы. Бомбы падают на жилые дома,
на последние работающие больницы, на школы и на очереди у пекарен. Большинство погибших —
не бойцы. Это дети, родители, медсёстры, соседи.

Никакая военная цель не оправдывает бомбардировки людей там, где они живут. Международное
гуманитарное право однозначно: мирные жители и больницы никогда не бывают целями. Каждый день,
когда это нарушается, хоронят новые семьи, а выжившие теряют веру в мирное урегулирование.

## Мы призываем вас

1. **Прекратить все авиаудары и обстрелы** жилых кварталов, больниц, школ, рынков
   и водонасосных станций — начиная с сегодняшнего дня.
2. **Открыть безопасные гуманитарные коридоры** и пропустить колонны ООН и Красного Полумесяца
   с едой, водой и лекарствами во все районы города, без задержек и условий.
3. **Дать раненым и больным выехать** на лечение, а всем мирным жителям, кто хочет уйти, —
   уйти безопасно, с правом вернуться.
4. **Допустить независимое расследование** каждого удара по больнице или школе, чтобы виновные
   ответили за него.

## Почему важна ваша подпись

Правительства прислушиваются к тому, что говорят люди. Когда десятки тысяч человек из многих
стран подписываются под одним ясным требованием, оно доходит до кабинетов, куда одно письмо
не дойдёт никогда. Мы передадим адресатам каждую подтверждённую подпись и опубликуем их ответы.

Подпись — первый шаг. После неё поделитесь петицией со знакомыми и приходите на мирную акцию
рядом с вами, когда она будет назначена.
""",
    },
    "ar": {
        "title": "أوقفوا قصف المدنيين في حلب",
        "target": (
            "رئيس الاتحاد الروسي، ورئيس الجمهورية العربية السورية، "
            "والأعضاء الخمسة عشر في مجلس الأمن التابع للأمم المتحدة"
        ),
        "summary": (
            "تتعرّض البيوت والمستشفيات والمدارس وطوابير الخبز في حلب للقصف من الجو. "
            "ونطالب من يُصدرون الأوامر، ومن يملكون القدرة على إيقافها، "
            "بأن يضعوا لذلك حدًّا الآن."
        ),
        "call_to_action": "أضيفوا أسماءكم لإيقاف القصف",
        "body_markdown": """\
ليلةً بعد ليلة، يسمع أهالي حلب هدير الطائرات قبل دويّ الانفجارات. تسقط القنابل على الأبنية
السكنية، وعلى آخر المستشفيات التي لا تزال تعمل، وعلى المدارس، وعلى طوابير الناس أمام المخابز.
معظم القتلى ليسوا من المقاتلين. إنهم أطفال، وآباء وأمهات، وممرضات، وجيران.

لا هدفَ عسكريًّا يبرّر قصف الناس في بيوتهم. والقانون الدولي الإنساني واضح: لا يجوز استهداف
المدنيين ولا المستشفيات في أي حال من الأحوال. وفي كل يوم يُضرَب فيه بهذا القانون عرضَ الحائط،
تُدفن عائلات أخرى، ويفقد الناجون ما تبقّى لديهم من إيمان بإمكان التوصّل إلى تسوية سلمية.

## نطالبكم بما يلي

1. **وقف جميع الغارات الجوية والقصف المدفعي** على الأحياء السكنية والمستشفيات والمدارس
   والأسواق ومحطات ضخّ المياه، ابتداءً من اليوم.
2. **فتح ممرات إنسانية آمنة**، والسماح لقوافل الأمم المتحدة والهلال الأحمر بإدخال الغذاء
   والماء والدواء إلى كل أحياء المدينة، دون تأخير أو شروط.
3. **السماح للجرحى والمرضى بالخروج** لتلقّي العلاج، وتمكين كل مدني يرغب في المغادرة من الخروج
   بأمان، مع ضمان حقه في العودة.
4. **الموافقة على تحقيق مستقل** في كل هجوم على مستشفى أو مدرسة، حتى يُحاسَب المسؤولون عنه.

## لماذا يهمّ توقيعكم

تحسب الحكومات حسابًا لما يقوله مواطنوها. وحين يضع عشرات الآلاف من الناس، من بلدان كثيرة،
أسماءهم تحت مطلب واحد واضح، يصل صوتهم إلى مكاتب لا تبلغها رسالة منفردة أبدًا. سنسلّم كل
توقيع مؤكَّد إلى الجهات الموجَّه إليها هذا النداء، وسننشر ردودها.

التوقيع هو الخطوة الأولى. بعد أن توقّعوا، شاركوا العريضة مع من تعرفون، وانضمّوا إلى أقرب
تجمّع سلمي منكم حين يُعلَن عنه.
""",
    },
    "fr": {
        "title": "Arrêtez de bombarder les civils d’Alep",
        "target": (
            "Le président de la Fédération de Russie, le président de la République arabe "
            "syrienne et les quinze membres du Conseil de sécurité des Nations unies"
        ),
        "summary": (
            "À Alep, des maisons, des hôpitaux, des écoles et des files d’attente pour le pain "
            "sont bombardés depuis le ciel. Nous demandons à ceux qui donnent les ordres, "
            "et à ceux qui peuvent les en empêcher, d’y mettre fin dès maintenant."
        ),
        "call_to_action": "Signez pour que cessent les bombardements",
        "body_markdown": """\
Nuit après nuit, les habitants d’Alep entendent les avions avant les explosions. Les bombes
tombent sur les immeubles d’habitation, sur les derniers hôpitaux qui fonctionnent encore, sur
les écoles et sur les files d’attente devant les boulangeries. La plupart des morts ne sont pas
des combattants. Ce sont des enfants, des parents, des infirmières, des voisins.

Aucun objectif militaire ne justifie que l’on bombarde des gens chez eux. Le droit international
humanitaire est clair : les civils et les hôpitaux ne sont jamais des cibles. Chaque jour où ce
droit est bafoué, on enterre de nouvelles familles, et les survivants perdent toute raison de
croire à un règlement pacifique.

## Nous vous appelons à

1. **Mettre fin à toutes les frappes aériennes et à tous les tirs d’artillerie** sur les
   quartiers d’habitation, les hôpitaux, les écoles, les marchés et les stations de pompage
   d’eau, dès aujourd’hui.
2. **Ouvrir des couloirs humanitaires sûrs** et laisser les convois des Nations unies et du
   Croissant-Rouge acheminer de la nourriture, de l’eau et des médicaments dans tous les
   quartiers de la ville, sans délai ni conditions.
3. **Laisser partir les blessés et les malades** pour qu’ils soient soignés, et permettre à tout
   civil qui le souhaite de quitter la ville en sécurité, avec la garantie de pouvoir revenir.
4. **Autoriser une enquête indépendante** sur chaque attaque contre un hôpital ou une école,
   afin que les responsables aient à en répondre.

## Pourquoi votre signature compte

Les gouvernements prêtent attention à la voix de leurs propres citoyens. Quand des dizaines de
milliers de personnes, venues de nombreux pays, signent une même demande claire, celle-ci arrive
sur des bureaux qu’une lettre isolée n’atteint jamais. Nous remettrons chaque signature
confirmée aux destinataires et nous publierons leurs réponses.

Signer, c’est un premier pas. Ensuite, partagez la pétition autour de vous et, dès qu’un
rassemblement pacifique est prévu près de chez vous, rejoignez-le.
""",
    },
}


def load_demo(session: Session) -> tuple[Campaign, bool]:
    """Create the demo campaign, or add any of its languages that are missing.

    Idempotent: texts an organizer has since edited are left alone. Returns the campaign and
    whether anything was added.
    """
    campaign = session.scalar(select(Campaign).where(Campaign.slug == DEMO_SLUG))
    changed = False
    if campaign is None:
        campaign = Campaign(
            slug=DEMO_SLUG, status=CampaignStatus.OPEN, goal=DEMO_GOAL, default_language="en"
        )
        session.add(campaign)
        changed = True
    for language, text in DEMO_TEXTS.items():
        if campaign.translation(language) is None:
            campaign.translations.append(CampaignTranslation(language=language, **text))
            changed = True
    session.flush()
    return campaign, changed


def load_demo_organizer(session: Session, campaign: Campaign) -> tuple[Organizer, str]:
    """The demo organizer, owner of the demo campaign; returns it and its password."""
    organizer = session.scalar(select(Organizer).where(Organizer.email == DEMO_ORGANIZER_EMAIL))
    if organizer is None:
        organizer = Organizer(email=DEMO_ORGANIZER_EMAIL, name="Demo Organizer")
        organizer.set_password(DEMO_ORGANIZER_PASSWORD)
        session.add(organizer)
        session.flush()
    has_role = session.scalar(
        select(Membership).where(
            Membership.campaign_id == campaign.id, Membership.organizer_id == organizer.id
        )
    )
    if has_role is None:
        session.add(Membership(campaign_id=campaign.id, organizer_id=organizer.id, role=Role.OWNER))
        session.flush()
    return organizer, DEMO_ORGANIZER_PASSWORD


# A discussion like the one the open letter drew: support, disagreement and a reply, in
# several languages. Written for the project; the addresses are on a reserved domain.
DEMO_COMMENTS = [
    {
        "key": "olga",
        "author_name": "Olga",
        "body": (
            "Я живу в Москве и подписала. Бомбить жилые кварталы и больницы нельзя, "
            "кто бы там ни находился."
        ),
        "support_count": 12,
    },
    {
        "key": "james",
        "author_name": "James",
        "body": (
            "Signing is a start, but how do we make sure the Security Council actually reads "
            "this? I would like something more actionable."
        ),
        "support_count": 7,
    },
    {
        "key": "claire",
        "author_name": "Claire",
        "reply_to": "james",
        "body": (
            "On peut organiser des rassemblements dans les grandes villes le même jour : "
            "des milliers de personnes dans la rue, ça se voit."
        ),
        "support_count": 5,
    },
    {
        "key": "marko",
        "author_name": "Marko",
        "body": "Mi subskribis. Ĉesigu la bombadon de civiluloj en Alepo, nun!",
        "support_count": 3,
    },
]


def load_demo_comments(session: Session, campaign: Campaign) -> int:
    """Add the demo discussion to a campaign that has none yet; returns how many were added."""
    from datetime import timedelta

    from flask import current_app
    from sqlalchemy import exists

    from campaign.models import Comment, CommentStatus
    from campaign.models.types import utcnow
    from campaign.services.comments import body_hash
    from campaign.services.language_detection import detect_language

    if session.scalar(select(exists().where(Comment.campaign_id == campaign.id))):
        return 0
    added: dict[str, Comment] = {}
    start = utcnow() - timedelta(hours=len(DEMO_COMMENTS) * 5)
    for n, item in enumerate(DEMO_COMMENTS):
        reply_to = added.get(item.get("reply_to", ""))
        email = f"{item['key']}@example.org"
        comment = Comment(
            campaign_id=campaign.id,
            parent_id=(reply_to.parent_id or reply_to.id) if reply_to else None,
            reply_to_id=reply_to.id if reply_to else None,
            author_name=item["author_name"],
            email=email,
            email_key=email,
            body=item["body"],
            body_hash=body_hash(item["body"]),
            language=detect_language(item["body"], current_app.config["LANGUAGES"]),
            status=CommentStatus.VISIBLE,
            support_count=item["support_count"],
            created_at=start + timedelta(hours=n * 5),
            confirmed_at=start + timedelta(hours=n * 5),
        )
        session.add(comment)
        session.flush()
        added[item["key"]] = comment
    return len(added)


# Rallies on the coming Saturdays, in several cities and time zones, and one online.
DEMO_EVENTS = [
    {
        "title": "Vigil for Aleppo at Trafalgar Square",
        "city": "London",
        "country": "GB",
        "timezone": "Europe/London",
        "venue": "Trafalgar Square",
        "address": "Trafalgar Square, London WC2N 5DN",
        "latitude": 51.50809,
        "longitude": -0.12804,
        "weeks": 1,
        "hour": 18,
        "capacity": None,
    },
    {
        "title": "Rassemblement pour Alep, place de la République",
        "language": "fr",
        "city": "Paris",
        "country": "FR",
        "timezone": "Europe/Paris",
        "venue": "Place de la République",
        "address": "Place de la République, 75003 Paris",
        "latitude": 48.86734,
        "longitude": 2.36380,
        "weeks": 1,
        "hour": 15,
        "capacity": 500,
    },
    {
        "title": "Halep için sessiz yürüyüş",
        "language": "tr",
        "city": "İstanbul",
        "country": "TR",
        "timezone": "Europe/Istanbul",
        "venue": "Kadıköy İskelesi",
        "address": "Caferağa, Kadıköy, İstanbul",
        "latitude": 40.99224,
        "longitude": 29.02337,
        "weeks": 2,
        "hour": 14,
        "capacity": 200,
    },
    {
        "title": "Online: how to bring the petition to your representative",
        "city": "",
        "country": "",
        "timezone": "UTC",
        "mode": "online",
        "online_url": "https://meet.example.org/aleppo-petition",
        "weeks": 1,
        "hour": 19,
        "capacity": 100,
    },
]


def load_demo_events(session: Session, campaign: Campaign, now=None) -> int:
    """Add the demo rallies to a campaign that has no events yet; returns how many."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import exists

    from campaign.models import Event, EventMode, EventStatus
    from campaign.models.types import utcnow

    if session.scalar(select(exists().where(Event.campaign_id == campaign.id))):
        return 0
    now = now or utcnow()
    for item in DEMO_EVENTS:
        zone = ZoneInfo(item["timezone"])
        today = now.astimezone(zone).date()
        saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        day = saturday + timedelta(weeks=item["weeks"] - 1)
        starts = datetime(day.year, day.month, day.day, item["hour"], tzinfo=zone)
        session.add(
            Event(
                campaign_id=campaign.id,
                title=item["title"],
                description=DEMO_EVENT_DESCRIPTION.get(item.get("language", "en"), ""),
                language=item.get("language", "en"),
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                timezone=item["timezone"],
                mode=EventMode(item.get("mode", "in_person")),
                venue=item.get("venue", ""),
                address=item.get("address", ""),
                city=item["city"],
                country=item["country"],
                online_url=item.get("online_url", ""),
                latitude=item.get("latitude"),
                longitude=item.get("longitude"),
                capacity=item["capacity"],
                contact="organizer@example.org",
                status=EventStatus.SCHEDULED,
            )
        )
    session.flush()
    return len(DEMO_EVENTS)


DEMO_EVENT_DESCRIPTION = {
    "en": (
        "Come as you are. Bring a candle and the name of someone you want to remember. "
        "We read out the petition's demands and the number of people who have signed, "
        "then stand in silence for ten minutes.\n\nPeaceful and open to everyone."
    ),
    "fr": (
        "Venez comme vous êtes, avec une bougie. Nous lirons les demandes de la pétition et "
        "le nombre de signataires, puis nous observerons dix minutes de silence.\n\n"
        "Rassemblement pacifique, ouvert à toutes et à tous."
    ),
    "tr": (
        "Bir mum getirin. Dilekçenin taleplerini ve imza sayısını okuyacak, ardından on "
        "dakika sessizce yürüyeceğiz.\n\nBarışçıl ve herkese açık."
    ),
}
