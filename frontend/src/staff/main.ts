import { mount } from 'svelte';
import '../lib/styles/app.css';
import '../lib/styles/print.css';
import App from './App.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');

export default mount(App, { target });
