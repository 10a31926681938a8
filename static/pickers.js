// The start form's pickers: co-inspectors and items are found as the inspector types. Without this script the
// Find buttons post the form back and the page returns with what was found; nothing else depends on it.
(function () {
  "use strict";
  var form = document.querySelector("#start-form form");
  if (!form || !window.fetch) return;

  function agencyBoxes() {
    return Array.prototype.slice.call(form.querySelectorAll('#agencies-picker input[name="agencies"]'));
  }

  function chip(name, option, own) {
    var li = document.createElement("li"), label = document.createElement("label"),
        box = document.createElement("input"), text = document.createElement("span"),
        detail = document.createElement("small");
    li.dataset.found = "";
    label.className = "chip";
    box.type = "checkbox";
    box.name = name;
    box.value = option.value;
    box.dataset.agency = option.agency;
    text.textContent = option.label;
    detail.className = "muted";
    detail.textContent = (option.agency !== own && option.agency_name ? option.agency_name + " · " : "") + option.detail;
    var both = document.createElement("span");
    both.append(text);
    if (detail.textContent) both.append(" ", detail);
    label.append(box, both);
    li.append(label);
    return li;
  }

  function setup(fieldset) {
    var name = fieldset.dataset.picker, own = fieldset.dataset.own,
        list = fieldset.querySelector("[data-options]"), input = fieldset.querySelector('input[type="search"]'),
        button = fieldset.querySelector('button[name="find"]'), status = fieldset.querySelector("[data-status]"),
        timer = null, serial = 0;

    function search() {
      var query = input.value.trim(), mine = ++serial, url = new URL(fieldset.dataset.url, window.location.href);
      clearTimeout(timer);
      if (!query) { status.textContent = ""; return; }
      url.searchParams.set("q", query);
      if (name === "items") {
        agencyBoxes().forEach(function (box) { if (box.checked) url.searchParams.append("agencies", box.value); });
      }
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (answer) {
          if (mine !== serial) return;  // a newer search is on its way
          // earlier results nobody ticked make room; ticked ones and the suggestions stay
          list.querySelectorAll("li[data-found]").forEach(function (li) {
            if (!li.querySelector("input").checked) li.remove();
          });
          var present = {};
          list.querySelectorAll("input").forEach(function (box) { present[box.value] = true; });
          answer.found.forEach(function (option) {
            if (!present[option.value]) list.append(chip(name, option, own));
          });
          status.textContent = answer.message;
        })
        .catch(function () {
          if (mine === serial) status.textContent = fieldset.dataset.failed;
        });
    }

    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 250); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); search(); }
    });
    button.addEventListener("click", function (event) { event.preventDefault(); search(); });
  }

  // an inspector of another agency brings their agency along (the server adds it too)
  form.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name !== "inspectors" || !box.checked) return;
    agencyBoxes().forEach(function (agency) {
      if (agency.value === box.dataset.agency && !agency.checked) {
        agency.checked = true;
        agency.closest("details").open = true;
      }
    });
  });

  form.querySelectorAll("[data-picker]").forEach(setup);
})();
