// The checklist at the door: each answer is saved the moment it is given and kept in localStorage until the server
// has it, so neither a reload nor a dropped network loses one; a photo uploads as soon as it is taken. Without this
// script the close form carries the answers and each photo form posts on its own.
(function () {
  "use strict";
  var facts = document.getElementById("facts"), form = document.getElementById("close-form");
  if (!facts || !window.fetch || !window.FormData) return;
  var key = "logbook-checklist-" + facts.dataset.inspection, storage = null;
  try { storage = window.localStorage; } catch (e) { /* blocked: answers are kept while the page is open */ }

  function load() {
    try { return JSON.parse(storage.getItem(key)) || {}; } catch (e) { return {}; }
  }

  function store(pending) {
    try {
      if (Object.keys(pending).length) storage.setItem(key, JSON.stringify(pending));
      else storage.removeItem(key);
    } catch (e) { /* full or blocked: the answer is still sent */ }
  }

  if (!form) { store({}); return; }  // closed or voided: nothing can be pending any more

  var OUTCOMES = ["pass", "fail", "na"];
  var csrf = form.querySelector('input[name="csrf_token"]').value, status = document.getElementById("save-status"),
      progress = document.getElementById("progress"), pending = load(), sending = false, retry = null, typing = {};

  function note(id) { return form.querySelector('textarea[name="note-' + id + '"]'); }
  function boxes(id) { return form.querySelectorAll('input[name="outcome-' + id + '"]'); }

  function given(id) {
    var chosen = form.querySelector('input[name="outcome-' + id + '"]:checked');
    return {outcome: chosen ? chosen.value : null, note: note(id).value, at: Date.now()};
  }

  function say(state) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = status.dataset[state] || "";
  }

  function count() {
    if (!progress) return;
    var total = form.querySelectorAll("li[data-checkpoint]").length,
        answered = form.querySelectorAll('li[data-checkpoint] input[type="radio"]:checked').length;
    progress.dataset.answered = answered;
    progress.textContent = progress.dataset.template.replace("{answered}", answered).replace("{total}", total);
  }

  function later() {
    say("pending");
    clearTimeout(retry);
    retry = setTimeout(send, 15000);
  }

  // One answer at a time, so an older answer of a checkpoint never overtakes a newer one on the way.
  function send() {
    var ids = Object.keys(pending);
    if (sending || !ids.length) return;
    var id = ids[0], answer = pending[id];
    sending = true;
    fetch(form.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({checkpoint: Number(id), outcome: answer.outcome, note: answer.note})
    }).then(function (response) {
      sending = false;
      if (response.status === 409) { pending = {}; store(pending); say("closed"); return; }
      // logged out, or the page's CSRF token expired: a reload sends what is kept here
      if (response.redirected || response.status === 400 || response.status === 403) { say("reload"); return; }
      if (response.status >= 500 || response.status === 429) { later(); return; }
      // saved (204), or refused for good (404, 422): not worth sending again
      if (pending[id] && pending[id].at === answer.at) { delete pending[id]; store(pending); }
      if (Object.keys(pending).length) send(); else say("saved");
    }, function () {
      sending = false;
      later();
    });
  }

  function remember(id) {
    pending[id] = given(id);
    store(pending);
  }

  // What this phone kept but the server never acknowledged is newer than the page: show it and send it.
  Object.keys(pending).forEach(function (id) {
    var answer = pending[id];
    if (!/^\d+$/.test(id) || !note(id)) { delete pending[id]; return; }  // not on this checklist
    boxes(id).forEach(function (box) { box.checked = box.value === answer.outcome && OUTCOMES.indexOf(box.value) >= 0; });
    note(id).value = answer.note || "";
  });
  store(pending);
  count();
  send();

  form.addEventListener("change", function (event) {
    var item = event.target.closest("li[data-checkpoint]");
    if (!item || event.target.type === "file") return;
    remember(item.dataset.checkpoint);
    count();
    send();
  });
  form.addEventListener("input", function (event) {
    var item = event.target.closest("li[data-checkpoint]"), id;
    if (!item || event.target.tagName !== "TEXTAREA") return;
    id = item.dataset.checkpoint;
    remember(id);
    clearTimeout(typing[id]);
    typing[id] = setTimeout(send, 800);
  });
  window.addEventListener("online", send);

  // Photos: each camera input belongs to a photo form of its own; it uploads at once and shows the thumbnail.
  function thumbnail(list, url) {
    var item = document.createElement("li"), link = document.createElement("a"), image = document.createElement("img");
    link.href = url;
    image.src = url;
    image.alt = form.dataset.alt.replace("{n}", list.children.length + 1);
    link.append(image);
    item.append(link);
    list.append(item);
  }

  function upload(input) {
    var line = input.closest(".camera-row").querySelector(".photo-status"), list = document.getElementById(input.dataset.photo);
    line.textContent = form.dataset.uploading;
    fetch(input.form.action, {method: "POST", credentials: "same-origin", headers: {Accept: "application/json"},
                              body: new FormData(input.form)})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; },
                                    function () { return {ok: false, body: {}}; });
      }, function () { return {ok: false, body: null}; })
      .then(function (result) {
        input.value = "";
        if (result.ok) {
          thumbnail(list, result.body.url);
          line.textContent = form.dataset.uploaded;
        } else if (result.body === null) {
          line.textContent = form.dataset.offline;
        } else {
          line.textContent = (result.body.error && result.body.error.message) || form.dataset.failed;
        }
      });
  }

  form.classList.add("live");  // camera buttons upload by themselves: the upload buttons are for pages without script
  document.querySelectorAll('input[type="file"][data-photo]').forEach(function (input) {
    input.addEventListener("change", function () { if (input.files.length) upload(input); });
  });
})();
