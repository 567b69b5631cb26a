"""The one catalogue of user-facing text, in every language the bot speaks.

Keys are dotted names; values are `str.format` templates. `tests/unit/test_i18n.py` fails when a key or a
placeholder exists in one language and not the other. Number and date formatting that follows the language
lives here too, so views never hard-code a separator.
"""

from __future__ import annotations

import string
from datetime import datetime, timezone
from typing import Any

DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    # Usage and command errors.
    "usage.title": "How to use /participations",
    "usage.body": (
        "*`/participations &lt;email-or-contact-id&gt; [state] [limit=N]`*\n"
        "*`/participations &lt;name&gt; [state] [limit=N]`*\n"
        "Shows the HubSpot marketing events a contact registered for, attended, missed or cancelled. "
        "Give a name and I find the contact first (you choose when several match).\n\n"
        "*state* (optional): `registered`, `attended`, `cancelled` (or `canceled`), `no_show` (or `no-show`)\n"
        "*limit* (optional): results per page, 1–100 (default 10)\n"
        "*summary* (optional): post the contact's attendance summary instead of a page\n\n"
        "Examples:\n"
        "• `/participations jane@example.com`\n"
        "• `/participations jane@example.com attended`\n"
        "• `/participations 12345 no_show limit=25`\n"
        "• `/participations Sam Carter attended`\n\n"
        "On any message, the shortcut *Event participations* (⋮ → More message shortcuts) looks up the email "
        "addresses the message mentions."
    ),
    "usage.fallback": "Usage: /participations &lt;email-or-contact-id-or-name&gt; [state] [limit=N]",
    "command.unknown_state": (
        "I don't know the state `{state}`. Use one of `registered`, `attended`, `cancelled` or `no_show`, "
        "or leave it out to see every state."
    ),
    "command.bad_identifier": (
        "`{identifier}` is not an email address or a HubSpot contact id, nor a name. "
        "Try `/participations jane@example.com`, `/participations 12345` or `/participations Jane Doe`."
    ),
    "command.no_contact": "Which contact? Give an email address, a HubSpot contact id or a name. {hint}",
    "command.name_too_long": (
        "That name is too long ({length} characters; at most {limit}). Try the email address or a shorter name."
    ),
    "command.user_mention": (
        "That's a Slack user, not a HubSpot contact. Give the contact's email address or HubSpot contact id."
    ),
    "command.bad_limit": "`{value}` is not a valid limit: use `limit=N` with N from 1 to 100.",
    "command.too_many_words": "I didn't understand `{word}`. {hint}",
    "command.too_long": "That command is too long ({length} characters). {hint}",
    "command.hint": "Type `/participations help` for the accepted forms.",
    # Results.
    "page.header": "Marketing events · {who}",
    "page.header_state": "{state} events · {who}",
    "page.contact_line": "*{name}* · {email}",
    "page.contact_line_no_name": "*{email}*",
    "page.contact_id": "HubSpot contact {contact_id}",
    "page.total": "{total} participation records",
    "page.total_one": "1 participation record",
    "page.filter": "Filter: {state}",
    "page.showing": "Showing {start}–{end} of {total}",
    "page.page_number": "Page {page}",
    "page.unnamed_event": "(unnamed event)",
    "page.attendance": "{percent} attended",
    "page.no_date": "date unknown",
    "page.date_format": "{date_short_pretty} at {time}",
    "page.fallback": "{who}: {total} marketing event participations (showing {start}–{end})",
    "page.more_in_hubspot": "More results exist, but the page cursor is too long to carry in a button.",
    "page.empty": "No participations found for {identifier}.",
    "page.empty_state": "No {state} participations found for {identifier}.",
    "page.posted_in_thread": "➡️ Page {page} is in the thread.",
    "button.next": "Next page",
    "button.summary": "Summary",
    "button.export": "Export CSV",
    # Summary (button or `summary` word).
    "summary.header": "Attendance summary · {who}",
    "summary.header_state": "{state} summary · {who}",
    "summary.by_state": "*By state:* {counts}",
    "summary.state_count": "{state} {count}",
    "summary.field_records": "*Participation records*\n{records}",
    "summary.field_events": "*Distinct events*\n{events}",
    "summary.field_show_up": "*Show-up rate*\n{rate} ({attended} of {events} events)",
    "summary.field_show_up_none": "*Show-up rate*\nno event with an outcome yet",
    "summary.field_show_up_filtered": "*Show-up rate*\nneeds every state (no filter)",
    "summary.field_average": "*Average attendance*\n{percent} (over {events} events)",
    "summary.field_average_none": "*Average attendance*\nnot reported",
    "summary.field_time": "*Time attended*\n{duration}",
    "summary.field_first": "*First participation*\n{date}",
    "summary.field_last": "*Most recent participation*\n{date}",
    "summary.definition": (
        "Show-up rate = events attended ÷ events registered for that have an outcome (attended or no-show); "
        "upcoming registrations and cancelled events are left out. Records are grouped into events by HubSpot "
        "marketing event id, else event name (one event can hold several records, e.g. registered then no-show); "
        "attendance percentage and time count once per event."
    ),
    "summary.truncated": (
        "⚠️ Based on the first {count} of {total} records: the bot reads at most {cap} (`MAX_EXPORT_RECORDS`)."
    ),
    "summary.fallback": "{who}: attendance summary, {records} participation records across {events} events",
    "summary.posted_in_thread": "📊 The summary is in the thread.",
    "summary.already": "The summary is already in the thread (or on its way).",
    # CSV export.
    "export.comment": "📎 CSV export: {records} participation records for {who}.",
    "export.comment_state": "📎 CSV export: {records} {state} participation records for {who}.",
    "export.truncated": "⚠️ Only the first {count} of {total} records: the bot exports at most {cap}.",
    "export.posted_in_thread": "📎 The CSV export is in the thread.",
    "export.already": "The CSV export is already in the thread (or on its way).",
    "export.not_here": "I can only upload the CSV under a message in a channel. Run `/participations` again.",
    # States.
    "state.REGISTERED": "Registered",
    "state.ATTENDED": "Attended",
    "state.CANCELLED": "Cancelled",
    "state.NO_SHOW": "No-show",
    "state.EMPTY": "No state",
    # Errors.
    "error.not_found": "No HubSpot contact found for {identifier}.",
    "error.auth": (
        "HubSpot rejected the bot's access token (invalid or expired). "
        "A HubSpot admin needs to update `HUBSPOT_ACCESS_TOKEN`."
    ),
    "error.scope": (
        "The bot's HubSpot token is missing the scope {scopes}. "
        "A HubSpot admin needs to grant it to the private app or service key."
    ),
    "error.rate_limited": "HubSpot is rate limiting us right now. Please try again in a minute.",
    "error.daily_limit": (
        "This HubSpot account has used up its daily API quota. It resets at midnight in the account's time zone."
    ),
    "error.unavailable": "HubSpot is not answering right now. Please try again in a few minutes.",
    "error.unexpected": "HubSpot sent an unexpected response. Please try again; if it persists, tell an admin.",
    "error.bad_request": "HubSpot rejected the request: {detail}",
    "error.internal": "Something went wrong on our side. Please try again; if it persists, tell an admin.",
    "error.malformed": (
        "The bot could not read that request from Slack. Please try again; if it persists, tell an admin."
    ),
    "error.bad_button": "That button is no longer valid. Run `/participations` again.",
    "error.denied": "Sorry, you are not allowed to look up HubSpot participations here.",
    "error.already_posted": "That page is already in the thread.",
    "error.post_failed": "I couldn't post in this conversation ({reason}). Invite me to the channel and try again.",
    "error.reference": "Reference: `{reference}`",
    # Finding the contact: by name (the command), or the emails in a message (the shortcut).
    "search.no_match": (
        "No HubSpot contact matches *{name}*. Try their email address or HubSpot contact id, "
        "e.g. `/participations jane@example.com`."
    ),
    "search.scope_missing": (
        "I can't search HubSpot contacts by name: the bot's HubSpot token lacks the scope "
        "`crm.objects.contacts.read` (a HubSpot admin can add it). Lookups by email address or contact id still "
        "work, e.g. `/participations jane@example.com`."
    ),
    "choice.several": "{total} contacts match *{name}*. Which one?",
    "choice.many": (
        "{total} contacts match *{name}*; here are the first {shown}. "
        "Add more of the name, or use the email address, to narrow it down."
    ),
    "choice.emails": "This message mentions {total} email addresses. Which contact?",
    "choice.emails_many": "This message mentions {total} email addresses; here are the first {shown}. Which contact?",
    "choice.only_you": "Only you can see this choice.",
    "choice.button": "Show participations",
    "choice.unnamed": "(no name)",
    "choice.fallback": "Choose a contact ({total} found)",
    "choice.chosen": "✅ Chosen: *{who}*.",
    "choice.already": "That choice has already been made.",
    "shortcut.no_email": (
        "I found no email address in that message. To find a contact by name, use `/participations Jane Doe`."
    ),
    "shortcut.not_in_channel": (
        "Only you can see this: I'm not in this conversation, so I couldn't post in the thread ({reason}). "
        "Invite me with `/invite @participations` (or add the app from the channel's details) and try again."
    ),
    # Terminal preview (participations-bot preview).
    "preview.local_time_zone": "(dates in your local time zone: {zone})",
    "preview.hubspot_reference": "(HubSpot reference {reference})",
    "preview.sample_contacts": "sample contacts (participations): {contacts}",
    "preview.no_token": (
        "HUBSPOT_ACCESS_TOKEN is not set (environment or .env; see .env.example) - "
        "or try the bundled data: participations-bot preview --sample jane@example.com"
    ),
    "error.archived": "This channel is archived, so I can't post here.",
    "error.post_unconfirmed": (
        "Slack took too long to confirm the post ({reference}). It has probably arrived in the thread; if not, "
        "run `/participations` again."
    ),
    "error.slack_failed": "Slack refused the message ({reason}). Please try again; if it persists, tell an admin.",
}

_PT_BR: dict[str, str] = {
    "usage.title": "Como usar /participations",
    "usage.body": (
        "*`/participations &lt;email-ou-id-do-contato&gt; [estado] [limit=N]`*\n"
        "*`/participations &lt;nome&gt; [estado] [limit=N]`*\n"
        "Mostra os eventos de marketing do HubSpot em que um contato se inscreveu, participou, faltou ou "
        "cancelou. Com um nome, eu encontro o contato antes (você escolhe quando vários correspondem).\n\n"
        "*estado* (opcional): `registered`, `attended`, `cancelled` (ou `canceled`), `no_show` (ou `no-show`)\n"
        "*limit* (opcional): resultados por página, de 1 a 100 (padrão 10)\n"
        "*summary* (opcional): publica o resumo de participação do contato em vez de uma página\n\n"
        "Exemplos:\n"
        "• `/participations jane@example.com`\n"
        "• `/participations jane@example.com attended`\n"
        "• `/participations 12345 no_show limit=25`\n"
        "• `/participations Sam Carter attended`\n\n"
        "Em qualquer mensagem, o atalho *Event participations* (⋮ → Mais atalhos de mensagem) consulta os "
        "e-mails que a mensagem menciona."
    ),
    "usage.fallback": "Uso: /participations &lt;email-id-do-contato-ou-nome&gt; [estado] [limit=N]",
    "command.unknown_state": (
        "Não conheço o estado `{state}`. Use `registered`, `attended`, `cancelled` ou `no_show`, "
        "ou omita-o para ver todos os estados."
    ),
    "command.bad_identifier": (
        "`{identifier}` não é um e-mail nem um ID de contato do HubSpot, nem um nome. "
        "Tente `/participations jane@example.com`, `/participations 12345` ou `/participations Jane Doe`."
    ),
    "command.no_contact": "Qual contato? Informe um e-mail, um ID de contato do HubSpot ou um nome. {hint}",
    "command.name_too_long": (
        "Esse nome é longo demais ({length} caracteres; no máximo {limit}). Tente o e-mail ou um nome mais curto."
    ),
    "command.user_mention": (
        "Isso é um usuário do Slack, não um contato do HubSpot. Informe o e-mail ou o ID do contato no HubSpot."
    ),
    "command.bad_limit": "`{value}` não é um limite válido: use `limit=N` com N de 1 a 100.",
    "command.too_many_words": "Não entendi `{word}`. {hint}",
    "command.too_long": "Esse comando é longo demais ({length} caracteres). {hint}",
    "command.hint": "Digite `/participations help` para ver as formas aceitas.",
    "page.header": "Eventos de marketing · {who}",
    "page.header_state": "Eventos ({state}) · {who}",
    "page.contact_line": "*{name}* · {email}",
    "page.contact_line_no_name": "*{email}*",
    "page.contact_id": "Contato {contact_id} no HubSpot",
    "page.total": "{total} registros de participação",
    "page.total_one": "1 registro de participação",
    "page.filter": "Filtro: {state}",
    "page.showing": "Mostrando {start}–{end} de {total}",
    "page.page_number": "Página {page}",
    "page.unnamed_event": "(evento sem nome)",
    "page.attendance": "{percent} de presença",
    "page.no_date": "data desconhecida",
    "page.date_format": "{date_short_pretty} às {time}",
    "page.fallback": "{who}: {total} participações em eventos de marketing (mostrando {start}–{end})",
    "page.more_in_hubspot": "Há mais resultados, mas o cursor da página é longo demais para caber num botão.",
    "page.empty": "Nenhuma participação encontrada para {identifier}.",
    "page.empty_state": "Nenhuma participação com estado {state} encontrada para {identifier}.",
    "page.posted_in_thread": "➡️ A página {page} está na conversa (thread).",
    "button.next": "Próxima página",
    "button.summary": "Resumo",
    "button.export": "Exportar CSV",
    "summary.header": "Resumo de participação · {who}",
    "summary.header_state": "Resumo ({state}) · {who}",
    "summary.by_state": "*Por estado:* {counts}",
    "summary.state_count": "{state} {count}",
    "summary.field_records": "*Registros de participação*\n{records}",
    "summary.field_events": "*Eventos distintos*\n{events}",
    "summary.field_show_up": "*Taxa de comparecimento*\n{rate} ({attended} de {events} eventos)",
    "summary.field_show_up_none": "*Taxa de comparecimento*\nnenhum evento com resultado ainda",
    "summary.field_show_up_filtered": "*Taxa de comparecimento*\nprecisa de todos os estados (sem filtro)",
    "summary.field_average": "*Presença média*\n{percent} (em {events} eventos)",
    "summary.field_average_none": "*Presença média*\nnão informada",
    "summary.field_time": "*Tempo de participação*\n{duration}",
    "summary.field_first": "*Primeira participação*\n{date}",
    "summary.field_last": "*Participação mais recente*\n{date}",
    "summary.definition": (
        "Taxa de comparecimento = eventos com presença ÷ eventos com inscrição que já têm resultado (participou "
        "ou não compareceu); inscrições em eventos futuros e eventos cancelados ficam de fora. Os registros são "
        "agrupados em eventos pelo ID do evento de marketing no HubSpot, ou pelo nome do evento (um evento pode ter "
        "vários registros, p. ex. inscrito e depois não compareceu); porcentagem e tempo de presença contam uma "
        "vez por evento."
    ),
    "summary.truncated": (
        "⚠️ Baseado nos primeiros {count} de {total} registros: o bot lê no máximo {cap} (`MAX_EXPORT_RECORDS`)."
    ),
    "summary.fallback": "{who}: resumo de participação, {records} registros de participação em {events} eventos",
    "summary.posted_in_thread": "📊 O resumo está na conversa (thread).",
    "summary.already": "O resumo já está na conversa (thread) ou a caminho.",
    "export.comment": "📎 Exportação CSV: {records} registros de participação de {who}.",
    "export.comment_state": "📎 Exportação CSV: {records} registros de participação ({state}) de {who}.",
    "export.truncated": "⚠️ Só os primeiros {count} de {total} registros: o bot exporta no máximo {cap}.",
    "export.posted_in_thread": "📎 A exportação CSV está na conversa (thread).",
    "export.already": "A exportação CSV já está na conversa (thread) ou a caminho.",
    "export.not_here": "Só consigo enviar o CSV sob uma mensagem de um canal. Execute `/participations` de novo.",
    "state.REGISTERED": "Inscrito",
    "state.ATTENDED": "Participou",
    "state.CANCELLED": "Cancelado",
    "state.NO_SHOW": "Não compareceu",
    "state.EMPTY": "Sem estado",
    "error.not_found": "Nenhum contato do HubSpot encontrado para {identifier}.",
    "error.auth": (
        "O HubSpot recusou o token de acesso do bot (inválido ou expirado). "
        "Um administrador do HubSpot precisa atualizar `HUBSPOT_ACCESS_TOKEN`."
    ),
    "error.scope": (
        "O token do HubSpot do bot não tem o escopo {scopes}. "
        "Um administrador do HubSpot precisa concedê-lo ao app privado ou à chave de serviço."
    ),
    "error.rate_limited": "O HubSpot está limitando nossas requisições agora. Tente de novo em um minuto.",
    "error.daily_limit": (
        "Esta conta do HubSpot esgotou a cota diária da API. Ela é renovada à meia-noite no fuso da conta."
    ),
    "error.unavailable": "O HubSpot não está respondendo agora. Tente de novo em alguns minutos.",
    "error.unexpected": (
        "O HubSpot enviou uma resposta inesperada. Tente de novo; se persistir, avise um administrador."
    ),
    "error.bad_request": "O HubSpot recusou a requisição: {detail}",
    "error.internal": "Algo deu errado do nosso lado. Tente de novo; se persistir, avise um administrador.",
    "error.malformed": (
        "O bot não conseguiu ler essa requisição do Slack. Tente de novo; se persistir, avise um administrador."
    ),
    "error.bad_button": "Este botão não é mais válido. Execute `/participations` de novo.",
    "error.denied": "Desculpe, você não tem permissão para consultar participações do HubSpot aqui.",
    "error.already_posted": "Essa página já está na conversa (thread).",
    "error.post_failed": ("Não consegui publicar nesta conversa ({reason}). Convide-me para o canal e tente de novo."),
    "error.reference": "Referência: `{reference}`",
    "search.no_match": (
        "Nenhum contato do HubSpot corresponde a *{name}*. Tente o e-mail ou o ID do contato no HubSpot, "
        "p. ex. `/participations jane@example.com`."
    ),
    "search.scope_missing": (
        "Não consigo buscar contatos do HubSpot por nome: o token do HubSpot do bot não tem o escopo "
        "`crm.objects.contacts.read` (um administrador do HubSpot pode adicioná-lo). Consultas por e-mail ou ID "
        "do contato continuam funcionando, p. ex. `/participations jane@example.com`."
    ),
    "choice.several": "{total} contatos correspondem a *{name}*. Qual deles?",
    "choice.many": (
        "{total} contatos correspondem a *{name}*; aqui estão os {shown} primeiros. "
        "Digite mais do nome, ou use o e-mail, para restringir a busca."
    ),
    "choice.emails": "Esta mensagem menciona {total} e-mails. Qual contato?",
    "choice.emails_many": "Esta mensagem menciona {total} e-mails; aqui estão os {shown} primeiros. Qual contato?",
    "choice.only_you": "Só você vê esta escolha.",
    "choice.button": "Ver participações",
    "choice.unnamed": "(sem nome)",
    "choice.fallback": "Escolha um contato ({total} encontrados)",
    "choice.chosen": "✅ Escolhido: *{who}*.",
    "choice.already": "Essa escolha já foi feita.",
    "shortcut.no_email": (
        "Não encontrei nenhum e-mail nessa mensagem. Para buscar um contato pelo nome, use `/participations Jane Doe`."
    ),
    "shortcut.not_in_channel": (
        "Só você vê isto: não estou nesta conversa, então não consegui publicar na thread ({reason}). "
        "Convide-me com `/invite @participations` (ou adicione o app nos detalhes do canal) e tente de novo."
    ),
    "preview.local_time_zone": "(datas no seu fuso horário local: {zone})",
    "preview.hubspot_reference": "(referência do HubSpot {reference})",
    "preview.sample_contacts": "contatos de exemplo (participações): {contacts}",
    "preview.no_token": (
        "HUBSPOT_ACCESS_TOKEN não está definido (ambiente ou .env; veja .env.example) - "
        "ou experimente os dados de exemplo: participations-bot preview --sample jane@example.com"
    ),
    "error.archived": "Este canal está arquivado, então não posso publicar aqui.",
    "error.post_unconfirmed": (
        "O Slack demorou demais para confirmar a publicação ({reference}). Ela provavelmente já está na conversa; "
        "se não estiver, execute `/participations` de novo."
    ),
    "error.slack_failed": (
        "O Slack recusou a mensagem ({reason}). Tente de novo; se persistir, avise um administrador."
    ),
}

CATALOGUE: dict[str, dict[str, str]] = {"en": _EN, "pt-BR": _PT_BR}
LANGUAGES: tuple[str, ...] = tuple(CATALOGUE)

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def normalise_language(tag: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Slack locale (`pt-BR`, `pt-PT`, `en-US`, …) → a catalogue language: `pt-*` → pt-BR, else English."""
    if not tag:
        return default if default in CATALOGUE else DEFAULT_LANGUAGE
    lowered = tag.strip().replace("_", "-").lower()
    if lowered == "pt" or lowered.startswith("pt-"):
        return "pt-BR"
    if lowered == "en" or lowered.startswith("en-"):
        return "en"
    return "en"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Translator:
    """Text and number formatting for one language."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language if language in CATALOGUE else DEFAULT_LANGUAGE
        self._texts = CATALOGUE[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        template = self._texts.get(key) or _EN[key]
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        return key in self._texts

    def number(self, value: int) -> str:
        grouped = f"{value:,}"
        return grouped.replace(",", ".") if self.language == "pt-BR" else grouped

    def percent(self, value: float) -> str:
        text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
        if self.language == "pt-BR":
            text = text.replace(".", ",")
        return f"{text}%"

    def date_fallback(self, moment: datetime) -> str:
        """Plain-text date (UTC) for clients that cannot render Slack's date token, and for previews."""
        utc = moment.astimezone(timezone.utc)
        if self.language == "pt-BR":
            return utc.strftime("%d/%m/%Y %H:%M UTC")
        return f"{_MONTHS_EN[utc.month - 1]} {utc.day}, {utc.year} {utc:%H:%M} UTC"

    def for_state(self, state: str | None, key: str, key_with_state: str, **values: Any) -> str:
        """`key`, or `key_with_state` with the state's label where the query names one (`state`: its raw value)."""
        if state is None:
            return self(key, **values)
        return self(key_with_state, state=self.state(state), **values)

    def state(self, raw: str | None) -> str:
        key = f"state.{raw}" if raw else "state.EMPTY"
        return self(key) if key in self._texts else (raw or self("state.EMPTY"))


def duration(seconds: int) -> str:
    """`1h 05m`, `52m`, `45s`: the same in both languages."""
    hours, remainder = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(remainder, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m" if not secs else f"{minutes}m {secs:02d}s"
    return f"{secs}s"
