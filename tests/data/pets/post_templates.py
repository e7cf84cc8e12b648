"""Templates of the labelled pets post set (see build_post_kinds.py): word lists and one headline per template group.

A template group is one way of opening a post ("ПРОПАЛ КОТ!", "Кто потерял собаку?"); bodies (description, place,
date, contact, reward, plea) are drawn from shared lists. The held-out split takes whole groups, so test posts open
in ways the model never saw in training.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ADOPTION", "FOUND", "LOST", "OTHER", "Animal", "Kit", "pick_animal"]


@dataclass(frozen=True, slots=True)
class Animal:
    species: str  # cat | dog
    female: bool
    nom: str  # кот
    acc: str  # кота
    plural: bool = False

    def verb(self, masc: str, fem: str, plural: str = "") -> str:
        if self.plural:
            return plural or fem
        return fem if self.female else masc


ANIMALS = [
    Animal("cat", False, "кот", "кота"),
    Animal("cat", False, "котик", "котика"),
    Animal("cat", False, "котёнок", "котёнка"),
    Animal("cat", True, "кошка", "кошку"),
    Animal("cat", True, "кошечка", "кошечку"),
    Animal("cat", False, "кот британец", "кота британца"),
    Animal("dog", False, "пёс", "пса"),
    Animal("dog", False, "щенок", "щенка"),
    Animal("dog", False, "пёсик", "пёсика"),
    Animal("dog", True, "собака", "собаку"),
    Animal("dog", True, "собачка", "собачку"),
    Animal("dog", False, "кобель", "кобеля"),
    Animal("dog", True, "хаски", "хаски"),
    Animal("dog", False, "той-терьер", "той-терьера"),
    Animal("dog", True, "овчарка", "овчарку"),
]
LITTERS = [
    Animal("cat", False, "котята", "котят", plural=True),
    Animal("dog", False, "щенки", "щенков", plural=True),
    Animal("cat", False, "котятки", "котяток", plural=True),
    Animal("dog", False, "щенята", "щенят", plural=True),
]
NAMES = ["Барсик", "Мурка", "Рыжик", "Тайсон", "Джек", "Лаки", "Бусинка", "Снежок", "Марсик", "Тиша", "Ричи", "Буся"]
COLOURS = [
    ("рыжий", "рыжая"),
    ("чёрный", "чёрная"),
    ("серый полосатый", "серая полосатая"),
    ("белый", "белая"),
    ("чёрно-белый", "чёрно-белая"),
    ("палевый", "палевая"),
    ("дымчатый", "дымчатая"),
    ("трёхцветный", "трёхцветная"),
]
MARKS = [
    "на шее красный ошейник",
    "без ошейника",
    "есть чип",
    "хромает на заднюю лапу",
    "белое пятно на груди",
    "купированный хвост",
    "кастрирован",
    "очень пугливый",
    "откликается на кличку",
    "в синей шлейке",
]
# (city, city in the locative, district, district in the locative)
PLACES = [
    ("Москва", "в Москве", "Бутово", "в Южном Бутово"),
    ("Москва", "в Москве", "Марьино", "в Марьино"),
    ("Москва", "в Москве", "Митино", "в Митино"),
    ("Москва", "в Москве", "ЮЗАО", "в ЮЗАО"),
    ("Москва", "в Москве", "Выхино-Жулебино", "в Выхино"),
    ("Санкт-Петербург", "в Питере", "Купчино", "в Купчино"),
    ("Санкт-Петербург", "в СПб", "Выборгский", "в Выборгском районе"),
    ("Санкт-Петербург", "в Санкт-Петербурге", "Приморский", "в Приморском районе"),
    ("Санкт-Петербург", "в Питере", "Василеостровский", "на Васильевском острове"),
    ("Новосибирск", "в Новосибирске", "Советский", "в Академгородке"),
    ("Новосибирск", "в Новосибирске", "Заельцовский", "в Заельцовском районе"),
    ("Екатеринбург", "в Екатеринбурге", "Орджоникидзевский", "на Уралмаше"),
    ("Екатеринбург", "в Екб", "Чкаловский", "на Ботанике"),
    ("Казань", "в Казани", "Вахитовский", "в Вахитовском районе"),
    ("Казань", "в Казани", "Советский", "в Азино"),
    ("Нижний Новгород", "в Нижнем Новгороде", "Сормовский", "в Сормово"),
    ("Нижний Новгород", "в Нижнем Новгороде", "Автозаводский", "на Автозаводе"),
    ("Самара", "в Самаре", "Промышленный", "в Промышленном районе"),
    ("Краснодар", "в Краснодаре", "ФМР", "на ФМР"),
]
STREETS = [
    "ул. Ленина",
    "улица Гагарина",
    "пр. Просвещения",
    "Профсоюзная ул.",
    "ул. Садовая, д. 14",
    "Ленинский проспект",
    "пер. Столярный",
    "бульвар Дмитрия Донского",
    "ул. Бутлерова 7",
    "ш. Энтузиастов",
]
DATES = ["вчера", "сегодня утром", "12 марта", "03.05", "в ночь на 5 мая", "14.02.2025", "позавчера вечером", "28 июля"]
AGES = ["2 месяца", "полгода", "около года", "3 года", "5 лет", "примерно 8 месяцев"]
EMOJI = {
    "lost": ["🙏", "😿", "😢", "‼️", "🆘", "💔"],
    "found": ["🐾", "❗", "🙏", "🏠", "👀"],
    "adoption": ["❤️", "🏡", "🐱", "🐶", "✨", "😻"],
    "other": ["😍", "🔥", "👍", "🐕", "🐈", "🤔"],
}
HASHTAGS = {
    "lost": ["#пропалкот", "#пропаласобака", "#потеряшки", "#помогитенайти", "#пропалпитомец"],
    "found": ["#найденкот", "#найденасобака", "#ищемхозяина", "#найдёныш", "#потеряшки"],
    "adoption": ["#вдобрыеруки", "#отдамкотенка", "#котятаищутдом", "#пристрой", "#щенкивдар"],
    "other": ["#корм", "#груминг", "#ветклиника", "#котики", "#собакадня"],
}


def phone(rng: random.Random) -> str:
    code = rng.choice(["916", "926", "903", "921", "951", "981", "912", "917", "999", "495", "812"])
    a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
    return rng.choice(
        [
            f"8 {code} {a}-{b}-{c}",
            f"+7 ({code}) {a}-{b}-{c}",
            f"8{code}{a}{b}{c}",
            f"8-{code}-{a}-{b}-{c}",
            f"+7{code}{a}{b}{c}",
            f"+7 {code} {a} {b} {c}",
        ]
    )


@dataclass(frozen=True, slots=True)
class Kit:
    """The random choices one post is built from."""

    rng: random.Random
    animal: Animal
    place: tuple[str, str, str, str]

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def colour(self) -> str:
        m, f = self.rng.choice(COLOURS)
        return f if self.animal.female or self.animal.plural else m

    def where(self) -> str:
        city, city_loc, district, district_loc = self.place
        return self.pick(
            [
                f"{district_loc}",
                f"{city_loc}, {district_loc}",
                f"{district_loc} ({city})",
                f"{city}, р-н {district}",
                f"{district_loc}, {self.pick(STREETS)}",
                f"{city_loc} около {self.pick(['метро', 'ТЦ', 'школы', 'парка'])}",
            ]
        )

    def contact(self) -> str:
        num = phone(self.rng)
        return self.pick(
            [f"Тел. {num}", f"{num} Марина", f"Звоните {num} (WhatsApp)", f"т.{num}", f"Пишите в лс или {num}"]
        )


def pick_animal(rng: random.Random, *, litters: bool = False) -> Animal:
    pool = ANIMALS + (LITTERS if litters else [])
    return rng.choice(pool)


Template = Callable[[Kit], list[str]]


def _desc(k: Kit) -> str:
    a = k.animal
    return k.pick(
        [
            f"{k.colour().capitalize()}, {k.pick(AGES)}, {k.pick(MARKS)}",
            f"Окрас {k.colour()}, {k.pick(MARKS)}",
            f"Кличка {k.pick(NAMES)}, {k.pick(MARKS)}",
            f"{a.nom.capitalize()} {k.colour()}, возраст {k.pick(AGES)}",
        ]
    )


def _lost_tail(k: Kit) -> list[str]:
    return [
        k.pick(
            [
                "Вознаграждение!",
                "Нашедшему вознаграждение гарантируем",
                "Вознаграждение 5000 р.",
                "Очень ждём дома, дети плачут",
                "Если видели — позвоните, пожалуйста!",
                "Может прятаться в подвалах, проверьте пожалуйста",
                "Репост, пожалуйста!",
            ]
        ),
        k.contact(),
    ]


def _found_tail(k: Kit) -> list[str]:
    a = k.animal
    return [
        k.pick(
            [
                f"Домашн{a.verb('ий', 'яя')}, ласков{a.verb('ый', 'ая')}, явно чей-то",
                "Пока сидит у нас на передержке",
                "Отдадим хозяину, опишите приметы",
                "Хозяева, отзовитесь!",
                "Если хозяева не найдутся — будем искать новый дом",
                f"Сидит {k.pick(['у подъезда', 'в парке', 'возле магазина'])}, никого не подпускает",
            ]
        ),
        k.contact(),
    ]


def _adoption_tail(k: Kit) -> list[str]:
    return [
        k.pick(
            [
                "К лотку приучены, едят всё",
                "Привит, стерилизован, обработан от паразитов",
                "Только в квартиру, с договором ответственного содержания",
                "Привезём сами",
                "Мама домашняя кошка, очень ласковые",
                "Вынуждены отдать из-за аллергии у ребёнка",
                f"Возраст {k.pick(AGES)}, здоров{k.animal.verb('', 'а', 'ы')}",
            ]
        ),
        k.pick([k.contact(), "Куратор: " + phone(k.rng), "Пишите в личку"]),
    ]


def _lost(head: Callable[[Kit], str]) -> Template:
    return lambda k: [head(k), _desc(k), f"{k.pick(DATES).capitalize()} {k.where()}", *_lost_tail(k)]


def _found(head: Callable[[Kit], str]) -> Template:
    return lambda k: [head(k), _desc(k), f"Нашли {k.pick(DATES)} {k.where()}", *_found_tail(k)]


def _adoption(head: Callable[[Kit], str]) -> Template:
    return lambda k: [head(k), _desc(k), k.where(), *_adoption_tail(k)]


LOST: dict[str, Template] = {
    "L01": _lost(lambda k: f"ПРОПАЛ{k.animal.verb('', 'А')} {k.animal.nom.upper()}!"),
    "L02": _lost(lambda k: f"Потерял{k.animal.verb('ся', 'ась')} {k.animal.nom}"),
    "L03": _lost(lambda k: f"Помогите найти {k.animal.acc}!"),
    "L04": _lost(lambda k: f"{k.animal.nom.capitalize()} пропал{k.animal.verb('', 'а')}"),
    "L05": _lost(lambda k: f"Ищем {k.animal.verb('нашего', 'нашу')} {k.animal.acc}"),
    "L06": _lost(lambda k: f"Убежал{k.animal.verb('', 'а')} {k.animal.nom}"),
    "L07": _lost(lambda k: f"Выпал{k.animal.verb('', 'а')} из окна {k.animal.nom}"),
    "L08": _lost(lambda k: f"Сорвал{k.animal.verb('ся', 'ась')} с поводка {k.animal.nom}"),
    "L09": _lost(lambda k: f"Ушл{k.animal.verb('', 'а')} из дома и не вернул{k.animal.verb('ся', 'ась')}"),
    "L10": _lost(lambda k: f"ВНИМАНИЕ! Пропал{k.animal.verb('', 'а')} {k.animal.nom} по кличке {k.pick(NAMES)}"),
    "L11": _lost(lambda k: f"Разыскивается {k.animal.nom}"),
    "L12": _lost(
        lambda k: (
            f"SOS {k.pick(EMOJI['lost'])} {k.animal.verb('Наш', 'Наша')} {k.animal.nom} не вернул"
            f"{k.animal.verb('ся', 'ась')} домой"
        )
    ),
    "L13": _lost(lambda k: f"Не можем найти {k.animal.acc} уже {k.pick(['два', 'три', 'пять'])} дня"),
    "L14": _lost(lambda k: f"Пропал{k.animal.verb('', 'а')} {k.pick(DATES)}, до сих пор не нашли"),
}
FOUND: dict[str, Template] = {
    "F01": _found(lambda k: f"НАЙДЕН{k.animal.verb('', 'А')} {k.animal.nom.upper()}!"),
    "F02": _found(lambda k: f"Найден{k.animal.verb('', 'а')} {k.animal.nom}"),
    "F03": _found(lambda k: f"Нашли {k.animal.acc}"),
    "F04": _found(lambda k: f"Подобрали {k.animal.acc} на улице"),
    "F05": _found(lambda k: f"Прибил{k.animal.verb('ся', 'ась')} {k.animal.nom}"),
    "F06": _found(lambda k: f"{k.animal.verb('Чей', 'Чья')} {k.animal.nom}?"),
    "F07": _found(lambda k: k.pick(["ИЩЕМ ХОЗЯИНА!", "Ищем хозяев!", "Хозяева, отзовитесь!"])),
    "F08": _found(lambda k: f"Кто потерял {k.animal.acc}?"),
    "F09": _found(lambda k: f"Бегает {k.animal.nom} в ошейнике, видимо потерял{k.animal.verb('ся', 'ась')}"),
    "F10": _found(lambda k: f"{k.animal.nom.capitalize()} сидит у подъезда второй день, чей?"),
    "F11": _found(lambda k: f"Потеряшка найден{k.animal.verb('', 'а')}! Ищем семью"),
    "F12": _found(lambda k: f"Нашли {k.animal.acc}, ищем {k.animal.verb('ему', 'ей')} дом"),
    "F13": _found(lambda k: f"Найден{k.animal.verb('', 'а')} {k.animal.nom}, ищем старых или новых хозяев"),
    "F14": _found(lambda k: f"Забрали с дороги {k.animal.acc}, узнаёте?"),
}
ADOPTION: dict[str, Template] = {
    "A01": _adoption(lambda k: f"Отдам в добрые руки {k.animal.acc}"),
    "A02": _adoption(lambda k: f"{k.animal.nom.capitalize()} ищ{k.animal.verb('ет', 'ет', 'ут')} дом"),
    "A03": _adoption(lambda k: f"{k.pick(NAMES)} ищет семью"),
    "A04": _adoption(lambda k: f"В добрые руки {k.animal.nom}"),
    "A05": _adoption(lambda k: f"Отдадим {k.animal.acc} в связи с переездом"),
    "A06": _adoption(lambda k: f"Пристраиваем {k.animal.acc}"),
    "A07": _adoption(lambda k: f"Возьмите {k.animal.acc} из приюта!"),
    "A08": _adoption(lambda k: f"Бесплатно! {k.animal.nom.capitalize()} {k.pick(AGES)}"),
    "A09": _adoption(lambda k: f"Подарю {k.animal.acc}"),
    "A10": _adoption(lambda k: f"{k.animal.nom.capitalize()} в дар"),
    "A11": _adoption(lambda k: f"Ищет хозяина {k.pick(NAMES)}, {k.pick(AGES)}"),
    "A12": _adoption(lambda k: f"Ищем любящую семью для {k.pick(['малыша', 'малышки', 'нашего подопечного'])}"),
    "A13": _adoption(
        lambda k: (
            f"Приют «{k.pick(['Верные друзья', 'Кошкин дом', 'Лапа помощи'])}»: {k.animal.nom} "
            f"ищ{k.animal.verb('ет', 'ет', 'ут')} хозяев"
        )
    ),
}


def _other(lines: Callable[[Kit], list[str]]) -> Template:
    return lines


OTHER: dict[str, Template] = {
    "O01": _other(
        lambda k: [
            f"Продаю корм {k.pick(['Royal Canin', 'Purina', 'Acana', 'Grandorf'])} "
            f"{k.pick(['2', '4', '10', '15'])} кг, {k.pick(['900', '2500', '4300'])} ₽",
            k.contact(),
        ]
    ),
    "O02": _other(lambda k: [f"Груминг {k.place[3]}: стрижка собак и кошек, скидка 20%", k.contact()]),
    "O03": _other(lambda k: ["Ветклиника «Айболит»: вакцинация, чипирование, стерилизация", k.where(), k.contact()]),
    "O04": _other(
        lambda k: [
            f"Продаются щенки {k.pick(['хаски', 'корги', 'шпица', 'лабрадора'])}, документы РКФ, "
            f"{k.pick(['25000', '40 000', '60т.р.'])}",
            k.contact(),
        ]
    ),
    "O05": _other(
        lambda k: [
            f"Посмотрите какой у меня {k.animal.nom} {k.pick(EMOJI['other'])}",
            f"{k.colour().capitalize()} и наглый",
        ]
    ),
    "O06": _other(lambda k: [f"Кто знает хорошего ветеринара {k.place[3]}?", "Подскажите пожалуйста"]),
    "O07": _other(lambda k: [f"Спасибо всем! {k.pick(NAMES)} нашёлся, уже дома!", "Можно удалять объявление"]),
    "O08": _other(lambda k: [f"Потерял ключи {k.where()}", "Связка с брелоком, верните пожалуйста", k.contact()]),
    "O09": _other(lambda k: ["Найден паспорт на имя Иванова С.П.", f"Нашли {k.pick(DATES)} {k.where()}", k.contact()]),
    "O10": _other(lambda k: [f"Вязка: ищем {k.pick(['кота', 'кобеля'])} для нашей девочки", k.where()]),
    "O11": _other(lambda k: ["Передержка животных на время отпуска", f"{k.place[3]}, от 500 р/сутки", k.contact()]),
    "O12": _other(lambda k: ["Подскажите, чем кормить щенка в 3 месяца?", "Сухой или натуралка?"]),
    "O13": _other(lambda k: [f"Пропал свет {k.where()}", "Кто знает когда дадут?"]),
    "O14": _other(lambda k: ["Конкурс фото котиков! Присылайте в предложку", "Приз — мешок корма"]),
    "O15": _other(lambda k: [f"Собака соседей лает всю ночь {k.where()}", "Куда жаловаться?"]),
    "O16": _other(lambda k: [f"Куплю переноску для {k.pick(['кошки', 'собаки'])} недорого", k.contact()]),
}
