// The "change my plan" page. It knows nothing of eligibility or prices: every offer, add-on,
// amount, date and reason it shows comes from the public API's answers, and every pick is sent
// back to the API to be priced. Money is integer minor units with a currency, formatted here for
// display only.

const SESSION_KEY = "subshift.change-plan.session"

const $ = (id) => document.getElementById(id)

/** Builds an element: `h("p", { class: "x" }, "text", child)`. Text is always set as text. */
const h = (tag, attributes = {}, ...children) => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined || value === null) continue
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value)
    else element.setAttribute(name, value === true ? "" : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    element.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return element
}

/** Replaces an element's children, leaving out the empty ones. */
const fill = (element, ...children) =>
  element.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false && c !== ""))

// --- Display formatting -------------------------------------------------------------------

const moneyFormats = new Map()
const moneyFormat = (currency) => {
  if (!moneyFormats.has(currency)) {
    moneyFormats.set(currency, new Intl.NumberFormat("en", { style: "currency", currency }))
  }
  return moneyFormats.get(currency)
}

/** `{ amount: 1999, currency: "USD" }` as `$19.99`, keeping the raw value in a `<data>` element. */
const money = (m) => {
  const format = moneyFormat(m.currency)
  const digits = format.resolvedOptions().maximumFractionDigits
  return h("data", { value: m.amount, "data-currency": m.currency, class: "money" }, format.format(m.amount / 10 ** digits))
}

const dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })

/** A calendar date (`2026-12-01`) as a `<time>` element. */
const date = (calendarDate) => h("time", { datetime: calendarDate }, dateFormat.format(new Date(`${calendarDate}T00:00:00Z`)))

const interval = (i) => (i.count === 1 ? i.unit : `${i.count} ${i.unit}s`)

const timingText = (option) =>
  option.timing === "TODAY"
    ? ["takes effect today, ", date(option.effectiveDate), option.prorate ? ", prorated" : ""]
    : ["takes effect ", date(option.effectiveDate), option.timing === "NEXT_PERIOD_START" ? " (next billing period)" : " (end of this period)"]

const reasonText = {
  not_sellable: "not on sale",
  currency_mismatch: "not sold in this currency",
  partner_not_eligible: "not available through this seller",
  already_owned: "you already have it",
  not_compatible: "not available with the plan you picked",
  not_a_configured_path: "not a plan you can move to from here",
  interval_mismatch: "not billed at this interval",
  unknown_offer: "not in the catalog"
}

// --- Session (who is signed in) -----------------------------------------------------------

let session = null
let demoIdentities = []
let basket = null
/** Offers and add-ons seen in any answer, by id: a picked add-on leaves `crossSells`, its details stay known. */
let seen = {}

const loadSession = () => {
  try {
    session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null")
  } catch {
    session = null
  }
  seen = session?.seen ?? {}
}

const saveSession = () => {
  if (session === null) sessionStorage.removeItem(SESSION_KEY)
  else sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...session, seen }))
}

const base = () => (session?.kind === "partner" ? "/api/partner" : "/api")

// --- API ----------------------------------------------------------------------------------

/** One call to the public API; answers `{ status, body, headers }` and never throws on an HTTP status. */
const api = async (method, path, { body, headers = {} } = {}) => {
  const init = { method, headers: { accept: "application/json", authorization: `Bearer ${session.token}`, ...headers }, credentials: "same-origin" }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers["content-type"] = "application/json"
  }
  let response
  try {
    response = await fetch(path, init)
  } catch {
    return { status: 0, body: { error: { code: "NetworkError", message: "the server could not be reached" } }, headers: new Headers() }
  }
  const text = await response.text()
  let parsed = null
  try {
    parsed = text === "" ? null : JSON.parse(text)
  } catch {
    parsed = { error: { code: "Unexpected", message: text.slice(0, 200) } }
  }
  return { status: response.status, body: parsed, headers: response.headers }
}

// --- Messages -----------------------------------------------------------------------------

const say = (text) => {
  $("status").textContent = text
}

const clearAlert = () => {
  $("alert").hidden = true
  $("alert-text").textContent = ""
  fill($("alert-actions"))
}

const alertWith = (kind, content, actions = []) => {
  $("alert").hidden = false
  $("alert").dataset.kind = kind
  fill($("alert-text"), ...[content].flat())
  fill($("alert-actions"), ...actions)
}

const button = (label, onclick, extra = {}) => h("button", { type: "button", onclick, ...extra }, label)

/** Explains an error answer in words, with what the user can do next. */
const explain = (answer) => {
  const error = answer.body?.error ?? {}
  const code = error.code
  switch (answer.status) {
    case 401:
      return alertWith("401", "Your sign-in is no longer valid. Please sign in again.", [button("Sign in again", signOut)])
    case 409:
      if (code === "BasketCompleted") return alertWith("409", "This change has already been confirmed.", [])
      if (code === "SubscriptionInactive") return alertWith("409", "This subscription is not active, so its plan cannot change.", [])
      if (code === "QuoteChanged") {
        return alertWith("409", "Prices or the billing period changed since this quote, so nothing was charged. The change is priced again below; check it and confirm again.", [])
      }
      return alertWith(
        "409",
        "This change was updated somewhere else (another tab or device) since you last saw it. The latest version is shown below; check it and pick again if needed.",
        []
      )
    case 410: {
      // The basket is gone: its picks, quote and confirm button would only lead to more 410s.
      for (const v of views) $(v).hidden = true
      const startAgain = button("Start again", () => initiate(basket?.order.forSubscription.id ?? session.subscriptionId))
      alertWith("410", "This checkout has expired: changes are kept for 14 days. Start again to see today's options and prices.", [startAgain])
      return startAgain.focus()
    }
    case 423: {
      const pending = answer.body?.pendingChangeDate ?? error.details?.pendingChangeDate
      const subscriptionId = error.details?.subscriptionId
      const keep = subscriptionId === undefined ? [] : [button("Keep my current plan", () => keepCurrentPlan(subscriptionId), { id: "keep-plan" })]
      return alertWith(
        "423",
        pending === undefined
          ? ["A change to this subscription is already scheduled. You can make another one once it has taken effect, or keep your current plan and withdraw it."]
          : ["A change to this subscription is already scheduled for ", date(pending), ". You can make another one once it has taken effect, or keep your current plan and withdraw it."],
        [...keep, button("Back to subscriptions", showSubscriptions)]
      )
    }
    case 422:
      if (error.details?.code === "nothing_to_commit") return alertWith("422", "There is nothing to confirm yet: pick a plan or an add-on first.", [])
      return alertWith("422", `That change is not available: ${error.message ?? "refused"}.`, [])
    case 404:
      return alertWith("404", "No such subscription or checkout for this account.", [button("Back to subscriptions", showSubscriptions)])
    case 503:
      return alertWith("503", "The service is unavailable right now. Please try again in a moment.", [])
    default:
      return alertWith(String(answer.status), `Something went wrong: ${error.message ?? "unexpected answer"}.`, [])
  }
}

// --- Views --------------------------------------------------------------------------------

const views = ["sign-in", "subscriptions", "checkout", "done"]

const show = (view, { focus = true } = {}) => {
  for (const v of views) $(v).hidden = v !== view
  $("who").hidden = session === null
  if (session !== null) $("who-label").textContent = session.label
  if (focus) $(`${view}-title`).focus()
}

const signOut = () => {
  session = null
  basket = null
  seen = {}
  saveSession()
  clearAlert()
  say("Signed out.")
  showSignIn()
}

const showSignIn = () => {
  const select = $("identity")
  select.replaceChildren(...demoIdentities.map((identity) => h("option", { value: identity.id }, identity.label)))
  $("demo-fields").hidden = demoIdentities.length === 0
  $("own-token").open = demoIdentities.length === 0
  show("sign-in", { focus: false })
}

const signIn = async (event) => {
  event.preventDefault()
  clearAlert()
  const own = $("token").value.trim()
  if (own !== "" || demoIdentities.length === 0) {
    if (own === "") return alertWith("input", "Paste a token, or pick a demo identity.", [])
    const kind = document.querySelector("input[name=token-kind]:checked").value
    session = { kind, token: own, label: kind === "partner" ? "a partner" : "a customer", subscriptions: [] }
  } else {
    const identity = demoIdentities.find((i) => i.id === $("identity").value)
    session = { kind: identity.kind, token: identity.token, label: identity.label, subscriptions: identity.subscriptions, botCheckToken: identity.botCheckToken }
  }
  saveSession()
  say(`Signed in as ${session.label}.`)
  resume({ completedToList: true })
}

const showSubscriptions = async () => {
  clearAlert()
  basket = null
  let items = session.subscriptions.map((s) => ({ id: s.id, label: `${s.id} · reference ${s.reference}` }))
  if (session.kind === "partner") {
    const answer = await api("GET", "/api/partner/mma/subscriptions?limit=50")
    if (answer.status === 200) {
      items = answer.body.items.map((s) => ({ id: s.id, label: `${s.id} · ${s.owner} · reference ${s.name}` }))
    } else if (answer.status !== 403) {
      explain(answer)
    }
  }
  fill($("subscription-list"),
    ...(items.length === 0
      ? [h("p", { class: "hint" }, "No subscriptions listed: type one below.")]
      : items.map((item, index) =>
        h("label", { class: "choice" },
          h("input", { type: "radio", name: "subscription", value: item.id, checked: index === 0 }),
          h("span", {}, item.label))))
  )
  $("subscription-other").value = ""
  show("subscriptions")
}

const chooseSubscription = (event) => {
  event.preventDefault()
  const typed = $("subscription-other").value.trim()
  const picked = document.querySelector("input[name=subscription]:checked")?.value
  const target = typed !== "" ? typed : picked
  if (target === undefined) return alertWith("input", "Pick a subscription, or type its id.", [])
  initiate(target)
}

/** Opens a checkout (POST): the server answers the basket and sets its cookie; `true` when it did. */
const initiate = async (subscription) => {
  clearAlert()
  say("Opening a checkout…")
  const forSubscription = /^sub-/.test(subscription) ? { id: subscription } : { name: subscription }
  const headers = session.kind === "partner" ? { "x-limio-recaptcha": session.botCheckToken ?? "" } : {}
  const answer = await api("POST", `${base()}/checkout/subscription`, {
    body: { order: { order_type: "update_subscription", forSubscription } },
    headers
  })
  say("")
  if (answer.status !== 200) return explain(answer)
  session.subscriptionId = answer.body.order.forSubscription.id
  saveSession()
  renderBasket(answer.body)
  show("checkout")
  return true
}

/**
 * Withdraws the change scheduled on a subscription (the one a 423 names), then opens a checkout
 * on it to show the plan as it now stands. A change that took effect meanwhile has nothing left
 * to withdraw: the plan is shown as it stands then too.
 */
const keepCurrentPlan = async (subscriptionId) => {
  clearAlert()
  say("Withdrawing the scheduled change…")
  const id = encodeURIComponent(subscriptionId)
  const path = session.kind === "partner" ? `/api/partner/mma/subscriptions/${id}/pending-change` : `/api/checkout/subscriptions/${id}/pending-change`
  const answer = await api("DELETE", path)
  const nothingLeft = answer.status === 409 && answer.body?.error?.code === "NoPendingChange"
  if (answer.status !== 200 && !nothingLeft) {
    say("")
    return explain(answer)
  }
  if ((await initiate(subscriptionId)) !== true) return
  const plan = basket.forSubscriptionOffer.name
  say(
    nothingLeft
      ? `There was no scheduled change left to withdraw. Your plan now: ${plan}.`
      : `The change scheduled for ${dateFormat.format(new Date(`${answer.body.withdrawn.effectiveDate}T00:00:00Z`))} is withdrawn. You keep ${plan}.`
  )
}

/**
 * Reads the basket back from the cookie (GET): how the page survives a refresh, and how a
 * change left open in another tab is picked up again after signing in.
 */
const resume = async ({ completedToList = false } = {}) => {
  const answer = await api("GET", `${base()}/checkout/subscription`)
  if (answer.status === 200 && !(completedToList && answer.body.completed)) {
    renderBasket(answer.body)
    show(answer.body.completed ? "done" : "checkout", { focus: completedToList })
    if (answer.body.completed) renderCompletedBasket(answer.body)
    return
  }
  if (answer.status === 200) return showSubscriptions()
  if (answer.status === 404 && ["NoBasket", "BasketNotFound"].includes(answer.body?.error?.code)) return showSubscriptions()
  show("checkout", { focus: false })
  explain(answer)
}

// --- The checkout -------------------------------------------------------------------------

const remember = (options) => {
  for (const option of options) seen[option.offerId] = option
}

const userItems = (b) => b.order.orderItems.filter((item) => item.auto !== true)
const autoItems = (b) => b.order.orderItems.filter((item) => item.auto === true)

const renderBasket = (b) => {
  basket = b
  remember([...b.nextActions.upgrades, ...b.nextActions.downgrades, ...b.nextActions.crossSells])
  saveSession()
  const focused = document.activeElement?.id
  renderCurrent(b)
  renderOffers(b)
  renderAddOns(b)
  renderQuote(b.quote, autoItems(b), $("quote-body"))
  document.body.dataset.version = `${b.checkoutId}.${b.version}`
  fill($("expires"), "This checkout is kept until ", date(b.expiresAt.slice(0, 10)), ".")
  // Re-rendering replaces the inputs: keep the keyboard where it was.
  if (focused && $(focused) && document.activeElement !== $(focused)) $(focused).focus()
}

const renderCurrent = (b) => {
  const current = b.forSubscriptionOffer
  const owned = b.nextActions.subscriptionAddOns
  fill($("current"),
    h("p", { class: "plan-now" },
      h("strong", {}, current.name), " · ", money(current.unitPrice), ` per ${interval(current.interval)}`,
      current.quantity > 1 ? ` × ${current.quantity}` : ""),
    h("p", { class: "hint" }, `Subscription ${b.order.forSubscription.id}`,
      b.order.forSubscription.name ? ` · reference ${b.order.forSubscription.name}` : "",
      owned.length === 0 ? " · no add-ons" : ` · add-ons: ${owned.map((a) => a.name).join(", ")}`)
  )
}

const offerChoice = (option, direction, checked) =>
  h("label", { class: "choice" },
    h("input", { type: "radio", name: "offer", value: option.offerId, id: `offer-${option.offerId}`, checked }),
    h("span", { class: "choice-text" },
      h("span", { class: "choice-title" }, option.name, h("span", { class: `tag ${direction}` }, direction)),
      h("span", { class: "choice-detail" }, money(option.price), ` per ${interval(option.interval)} · `, ...timingText(option))))

const renderOffers = (b) => {
  const picked = userItems(b).find((item) => item.type === "offer" && item.orderItemActionType === "add")?.offer.id ?? ""
  const { upgrades, downgrades } = b.nextActions
  fill($("offer-list"),
    h("label", { class: "choice" },
      h("input", { type: "radio", name: "offer", value: "", id: "offer-current", checked: picked === "" }),
      h("span", { class: "choice-text" },
        h("span", { class: "choice-title" }, `Keep ${b.forSubscriptionOffer.name}`),
        h("span", { class: "choice-detail" }, money(b.forSubscriptionOffer.unitPrice), ` per ${interval(b.forSubscriptionOffer.interval)}`))),
    ...upgrades.map((o) => offerChoice(o, "upgrade", o.offerId === picked)),
    ...downgrades.map((o) => offerChoice(o, "downgrade", o.offerId === picked)),
    upgrades.length + downgrades.length === 0 ? h("p", { class: "hint" }, "No other plan is available for this subscription.") : null
  )
}

const renderAddOns = (b) => {
  const autoRemoved = new Map(autoItems(b).filter((i) => i.type === "add_on").map((i) => [i.offer.id, i]))
  const removedByUser = new Set(userItems(b).filter((i) => i.type === "add_on" && i.orderItemActionType === "remove").map((i) => i.offer.id))
  const added = userItems(b).filter((i) => i.type === "add_on" && i.orderItemActionType === "add").map((i) => i.offer.id)
  const owned = b.nextActions.subscriptionAddOns
  fill($("owned-list"),
    ...owned.map((a) => {
      const auto = autoRemoved.get(a.offerId)
      return h("label", { class: `choice${auto ? " removed" : ""}` },
        h("input", {
          type: "checkbox", name: "keep", value: a.offerId, id: `keep-${a.offerId}`,
          checked: !auto && !removedByUser.has(a.offerId), disabled: auto !== undefined,
          "aria-describedby": auto ? `keep-${a.offerId}-reason` : undefined
        }),
        h("span", { class: "choice-text" },
          h("span", { class: "choice-title" }, `Keep ${a.name}`, h("span", { class: "tag owned" }, "yours")),
          h("span", { class: "choice-detail" }, money(a.unitPrice), ` per ${interval(b.forSubscriptionOffer.interval)}`,
            auto ? h("span", { class: "reason", id: `keep-${a.offerId}-reason` }, `removed automatically: ${auto.reason?.message ?? "by the plan change"}`) : "")))
    })
  )
  const offered = [...b.nextActions.crossSells.map((o) => o.offerId), ...added.filter((id) => !b.nextActions.crossSells.some((o) => o.offerId === id))]
  fill($("add-on-list"),
    ...offered.map((id) => {
      const option = seen[id]
      const name = option?.name ?? b.order.orderItems.find((i) => i.offer.id === id)?.offer.name ?? id
      return h("label", { class: "choice" },
        h("input", { type: "checkbox", name: "add-on", value: id, id: `addon-${id}`, checked: added.includes(id) }),
        h("span", { class: "choice-text" },
          h("span", { class: "choice-title" }, `Add ${name}`, h("span", { class: "tag add-on" }, "add-on")),
          option ? h("span", { class: "choice-detail" }, money(option.price), ` per ${interval(option.interval)} · `, ...timingText(option)) : null))
    }),
    offered.length === 0 ? h("p", { class: "hint" }, "No other add-on is available with the plan picked.") : null
  )
}

const lineAmount = (line) => {
  const amount = line.amount.amount
  if (amount < 0) return h("span", { class: "credit" }, "credit ", money({ ...line.amount, amount: -amount }))
  if (amount > 0) return h("span", { class: "charge" }, "charge ", money(line.amount))
  return h("span", { class: "none" }, money(line.amount))
}

/** The quote, line by line: automatic removals with their reasons, proration with the days counted, totals and dates. */
const renderQuote = (quote, automatic, into) => {
  if (quote.lines.length === 0) {
    fill(into, h("p", { class: "hint" }, "Pick a plan or an add-on to see what the change costs."),
      h("dl", { class: "totals" },
        h("dt", {}, "You pay now, per period"), h("dd", { id: "current-recurring" }, money(quote.currentRecurring)),
        h("dt", {}, "Next billing date"), h("dd", {}, date(quote.nextBillingDate))))
    return
  }
  const autoFor = (line) => automatic.find((item) => item.offer.id === line.offerId && item.type === line.type)
  fill(into,
    h("table", { class: "lines", id: "quote-lines" },
      h("caption", { class: "visually-hidden" }, "Each change, when it takes effect and what it costs"),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Change"),
        h("th", { scope: "col" }, "Takes effect"),
        h("th", { scope: "col" }, "Days counted"),
        h("th", { scope: "col", class: "num" }, "Now"),
        h("th", { scope: "col", class: "num" }, "Per period after"))),
      h("tbody", {}, ...quote.lines.map((line) => {
        const auto = autoFor(line)
        return h("tr", { "data-offer": line.offerId, "data-kind": line.kind, class: auto ? "auto" : "" },
          h("th", { scope: "row" }, line.description,
            auto ? h("span", { class: "reason" }, h("span", { class: "tag auto" }, "automatic"), " ", auto.reason?.message ?? "") : null),
          h("td", {}, date(line.effectiveDate)),
          h("td", { class: "days" }, line.proration
            ? [`${line.proration.days} of ${line.proration.periodDays} days`, h("br"), h("span", { class: "hint" }, "from ", date(line.proration.from))]
            : "not prorated"),
          h("td", { class: "num" }, lineAmount(line)),
          h("td", { class: "num" }, money(line.recurringDelta)))
      }))),
    h("dl", { class: "totals" },
      h("dt", {}, "Total due now"), h("dd", { id: "due-now" }, money(quote.dueNow)),
      h("dt", {}, "You pay now, per period"), h("dd", { id: "current-recurring" }, money(quote.currentRecurring)),
      h("dt", {}, "Next recurring amount"), h("dd", { id: "next-recurring" }, money(quote.nextRecurring), " from ", date(quote.nextBillingDate)),
      h("dt", {}, quote.effectiveDates.length === 1 ? "Takes effect on" : "Takes effect on these dates"),
      h("dd", { id: "effective-dates" }, ...quote.effectiveDates.flatMap((d, i) => (i === 0 ? [date(d)] : [", ", date(d)]))))
  )
}

/** The items the form asks for; the API answers what they mean. */
const itemsFromForm = (dropAddOn) => {
  const items = []
  const offer = document.querySelector("input[name=offer]:checked")?.value ?? ""
  if (offer !== "") items.push({ orderItemActionType: "add", type: "offer", offer: { id: offer } })
  for (const box of document.querySelectorAll("input[name=add-on]:checked")) {
    if (box.value !== dropAddOn) items.push({ orderItemActionType: "add", type: "add_on", offer: { id: box.value } })
  }
  for (const box of document.querySelectorAll("input[name=keep]")) {
    if (!box.checked && !box.disabled) items.push({ orderItemActionType: "remove", type: "add_on", offer: { id: box.value } })
  }
  return items
}

let pricing = Promise.resolve()

/** Every pick re-prices through PUT, one at a time, with the version last seen in `If-Match`. */
const reprice = () => {
  pricing = pricing.then(async () => {
    clearAlert()
    $("change-form").setAttribute("aria-busy", "true")
    say("Updating the price…")
    let items = itemsFromForm()
    let answer = await put(items)
    // An add-on picked for another plan may not go with the new one: the API says which; drop it and ask again.
    const refused = answer.body?.error?.details
    if (answer.status === 422 && refused?.code === "add_on_not_eligible" && items.some((i) => i.type === "add_on" && i.offer.id === refused.offerId)) {
      items = itemsFromForm(refused.offerId)
      answer = await put(items)
      if (answer.status === 200) {
        renderBasket(answer.body)
        alertWith("422", `${seen[refused.offerId]?.name ?? refused.offerId} was taken out: ${reasonText[refused.reason] ?? "not available"}.`, [])
      }
    } else if (answer.status === 200) {
      renderBasket(answer.body)
    }
    $("change-form").removeAttribute("aria-busy")
    if (answer.status === 200) {
      say(`Price updated: ${answer.body.quote.lines.length} line${answer.body.quote.lines.length === 1 ? "" : "s"}.`)
    } else {
      say("")
      explain(answer)
      await afterFailure(answer)
    }
  })
  return pricing
}

const put = (items) =>
  api("PUT", `${base()}/checkout/subscription`, {
    body: { order: { orderItems: items } },
    headers: { "if-match": `"${basket.version}"` }
  })

/** After a refused write, show what the server holds now, so the form never lies. */
const afterFailure = async (answer) => {
  // A refused quote is priced again, which also gives the basket a new version and so the next confirmation a new key.
  if (answer.body?.error?.code === "QuoteChanged") {
    const repriced = await put(itemsFromForm())
    if (repriced.status === 200) return renderBasket(repriced.body)
  }
  if (answer.status === 409 || answer.status === 422) {
    const latest = await api("GET", `${base()}/checkout/subscription`)
    if (latest.status === 200) {
      renderBasket(latest.body)
      if (latest.body.completed) {
        renderCompletedBasket(latest.body)
        show("done", { focus: false })
      }
    }
  } else if (basket !== null) {
    renderBasket(basket)
  }
}

/** Commits (POST order): the basket version is the idempotency key, so a repeated click replays the first answer. */
const commit = async () => {
  await pricing
  clearAlert()
  say("Confirming…")
  const answer = await api("POST", `${base()}/order`, {
    body: { checkoutId: basket.checkoutId },
    headers: { "if-match": `"${basket.version}"`, "idempotency-key": `${basket.checkoutId}.${basket.version}` }
  })
  say("")
  if (answer.status !== 200) {
    explain(answer)
    return afterFailure(answer)
  }
  renderConfirmation(answer.body)
  show("done")
  say("Your change is confirmed.")
}

const actionText = (action) => {
  const what = action.type === "offer" ? action.name : `add-on ${action.name}`
  switch (action.kind) {
    case "add":
      return `${what} starts`
    case "remove":
      return `${what} ends`
    default:
      return `${what} changes`
  }
}

const renderConfirmation = (order) => {
  fill($("done-body"),
    h("p", { class: "confirmation" }, "Reference ", h("code", { id: "amendment-id" }, order.id), ` for subscription ${order.subscriptionId} (reference ${order.subscriptionReference}).`),
    h("ul", { class: "actions-list", id: "confirmed-actions" },
      ...order.actions.map((action) =>
        h("li", {}, actionText(action), " on ", date(action.effectiveDate),
          action.auto ? h("span", { class: "reason" }, ` (automatically: ${action.auto.message})`) : ""))),
    order.pendingChangeDate
      ? h("p", { id: "pending" }, "Part of this change is scheduled for ", date(order.pendingChangeDate),
        ". Until then no other change can be made to this subscription.")
      : null,
    h("div", { id: "confirmed-quote" })
  )
  renderQuote(order.quote, order.actions.filter((a) => a.auto).map((a) => ({ offer: { id: a.offerId }, type: a.type, reason: a.auto })), $("confirmed-quote"))
}

const renderCompletedBasket = (b) => {
  fill($("done-body"),
    h("p", { class: "confirmation" }, "This change was confirmed",
      b.amendmentId ? [" with reference ", h("code", { id: "amendment-id" }, b.amendmentId)] : "", "."),
    h("div", { id: "confirmed-quote" })
  )
  renderQuote(b.quote, autoItems(b), $("confirmed-quote"))
}

// --- Start --------------------------------------------------------------------------------

const loadDemoIdentities = async () => {
  try {
    const response = await fetch("/account/demo-session", { headers: { accept: "application/json" } })
    if (!response.ok) return
    const body = await response.json()
    demoIdentities = body.identities
    $("dev-notice").textContent = body.notice
    $("dev-notice").hidden = false
  } catch {
    demoIdentities = []
  }
}

const start = async () => {
  $("sign-in-form").addEventListener("submit", signIn)
  $("subscription-form").addEventListener("submit", chooseSubscription)
  $("change-form").addEventListener("change", reprice)
  $("change-form").addEventListener("submit", (event) => event.preventDefault())
  $("commit").addEventListener("click", commit)
  $("again").addEventListener("click", () => {
    clearAlert()
    initiate(session.subscriptionId ?? basket?.order.forSubscription.id)
  })
  $("sign-out").addEventListener("click", signOut)
  await loadDemoIdentities()
  loadSession()
  if (session === null) showSignIn()
  else await resume()
  document.body.dataset.ready = "true"
}

start()
